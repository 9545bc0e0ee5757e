/**
 * The SCBench harness (Li et al. 2024, "SCBench: A KV cache-centric analysis of long-context
 * methods"): a model answers each task's turns in the two shared-context modes under each KV-cache
 * policy and budget; answers are decoded greedily and scored per turn as SCBench scores them.
 *
 * Per sample and mode the shared prefill (multi-turn: context + first question; multi-request:
 * the context alone, question-blind) runs through the model once, recorded; every policy then
 * starts from a replay of that recording (harness-replay.ts). Prefill attention is dense in a
 * PolicyKVCache (a chunk attends to all of itself; the policy compresses afterwards), so the
 * model's prefill is the same for every policy and only the policy's bookkeeping differs:
 * prefillMs = the shared model prefill + that policy's replay.
 * - multi-turn: one main cache per policy; each later turn appends the previous gold answer and
 *   the next question to it (exactly the plan's tokens); the answer is decoded on a fork of it
 *   (KVCache.fork), so generated tokens never stay in the main cache (SCBench's "golden context").
 * - multi-request: each question is appended to its own fork of the shared prefill and decoded
 *   there; the shared cache never changes.
 * Decode: greedy, every generated token is fed back (so the last step's selection and bytes read
 * are a real decode step's), stopping at `stop` (default newline) or maxNewTokens.
 * Decode attention time: after each answer, the attention op alone over every layer with the
 * fork's last selection, and with no selection (full cache) on the same fork: speedupVsFull.
 */
import type { Backend } from '../../core/backend.js';
import { ArgumentError } from '../../core/errors.js';
import { attention, tensor } from '../../core/ops.js';
import { Random } from '../../core/random.js';
import type { Tensor } from '../../core/tensor.js';
import { PolicyKVCache, selectionTensor } from '../../attention/policy-cache.js';
import type { KVPolicy } from '../../attention/policy.js';
import { createPolicy, type PolicyOptions } from '../../attention/registry.js';
import { layerShapeOf } from '../../models/decoder-config.js';
import type { KVCacheShape } from '../../models/kv-cache.js';
import type { DecoderModel } from '../../models/llama.js';
import { argmax } from '../../models/sampling.js';
import { generateScbenchSample } from './index.js';
import { encodePlan, SHARED_CONTEXT_MODES, type SharedContextMode, type SharedContextPlan, sharedContextPlan } from './modes.js';
import type { CommonTaskOptions } from './sample.js';
import { scoreTurn } from './scoring.js';
import { type CacheLog, RecordingKVCache, replayInto } from './harness-replay.js';

/** One policy at one budget; `full` needs no budget. */
export interface PolicyCase {
  readonly policy: string;
  /** As `--kv-budget` takes it: tokens (1024) or a fraction of the context ('1/8'); null for none. */
  readonly budget: string | number | null;
  readonly options?: Omit<PolicyOptions, 'budget'>;
  /** Tells apart cases of one policy and budget that differ in options (default: the policy's name). */
  readonly label?: string;
}

export interface ScbenchHarnessConfig {
  readonly model: DecoderModel;
  readonly encode: (text: string) => number[];
  readonly decode: (ids: readonly number[]) => string;
  readonly tasks: readonly string[];
  /** Task-specific generator options (style, key lengths, alphabet, ...), by task name. */
  readonly taskOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly policies: readonly PolicyCase[];
  /** Context size in characters (bytes and tokens for a byte-level model). */
  readonly contextLength: number;
  readonly samples: number;
  readonly seed?: number;
  /** Turns per sample (default: the task's, 5). */
  readonly turns?: number;
  readonly modes?: readonly SharedContextMode[];
  /** Default 32. */
  readonly maxNewTokens?: number;
  /** Decoding stops once the answer contains it; the prediction is what precedes it. Default '\n'. */
  readonly stop?: string;
  /** Timed repeats of the decode-attention measurement per answer; 0 skips it. Default 5. */
  readonly attentionRepeats?: number;
  readonly onProgress?: (message: string) => void;
}

export interface ScbenchRecord {
  readonly task: string;
  readonly mode: SharedContextMode;
  readonly policy: string;
  /** The case's label: the policy's name unless the case gave one (e.g. 'quest (page 4)'). */
  readonly label: string;
  /** The budget as given (null: none). */
  readonly budget: string | number | null;
  readonly queryAware: boolean;
  /** Requested context length (characters); contextTokens is the mean shared prefill in tokens. */
  readonly context: number;
  readonly contextTokens: number;
  readonly turn: number;
  readonly samples: number;
  /** Mean score of this turn over the samples, in [0, 1]. */
  readonly accuracy: number;
  /** Mean over samples, at the answer's last decode step: KV bytes the policy keeps (f32, + metadata). */
  readonly kvBytes: number;
  readonly kvBytesFull: number;
  readonly bytesReadPerStep: number;
  /** Attention FLOPs of one decode step (2 x 2 x headDim per attended position per query head), computed. */
  readonly attentionFlopsPerStep: number;
  readonly prefillMs: number;
  readonly decodeMsPerToken: number;
  /** The attention op alone over every layer for one decode query (median of repeats); null when not timed. */
  readonly decodeAttentionMs: number | null;
  /** Full-cache decode attention time / this policy's, on the same caches; null when not timed. */
  readonly speedupVsFull: number | null;
  /** Share of answers whose last step fell back to full in some layer (budget covering the context). */
  readonly fellBackToFull: number;
}

/** One answer: what was appended, what the caches held, what came out (for tests and debugging). */
export interface ScbenchStepTrace {
  readonly task: string;
  readonly sample: number;
  readonly mode: SharedContextMode;
  readonly policy: string;
  readonly budget: string | number | null;
  readonly turn: number;
  /** Tokens the step appended to the shared (main) cache, and its length after that. */
  readonly appendedKept: number;
  readonly sharedLength: number;
  /** Tokens appended to the fork for this step only, and the fork's length when decoding began. */
  readonly appendedTemporary: number;
  readonly forkLength: number;
  /** The shared cache's kvBytesKept after the step (unchanged between requests in multi-request mode). */
  readonly sharedKvBytes: number;
  readonly prediction: string;
  readonly score: number;
}

export interface ScbenchHarnessResult {
  readonly records: ScbenchRecord[];
  readonly traces: ScbenchStepTrace[];
}

interface Accumulator {
  score: number;
  kvBytes: number;
  kvBytesFull: number;
  bytesRead: number;
  flops: number;
  prefillMs: number;
  decodeMs: number;
  decodeTokens: number;
  attentionMs: number;
  fullAttentionMs: number;
  fellBack: number;
  contextTokens: number;
  count: number;
}

export function runScbenchHarness(config: ScbenchHarnessConfig): ScbenchHarnessResult {
  const { model, tasks, policies } = config;
  const modes = config.modes ?? SHARED_CONTEXT_MODES;
  const maxNew = config.maxNewTokens ?? 32;
  const stop = config.stop ?? '\n';
  const repeats = config.attentionRepeats ?? 5;
  const seed = config.seed ?? 0;
  if (!Number.isInteger(config.samples) || config.samples < 1) throw new ArgumentError(`scbench harness: samples must be a positive integer, got ${config.samples}`);
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new ArgumentError(`scbench harness: maxNewTokens must be a positive integer, got ${maxNew}`);
  if (tasks.length === 0 || policies.length === 0) throw new ArgumentError('scbench harness: give at least one task and one policy');
  for (const mode of modes) {
    if (!SHARED_CONTEXT_MODES.includes(mode)) throw new ArgumentError(`scbench harness: unknown mode '${mode}' (known: ${SHARED_CONTEXT_MODES.join(', ')})`);
  }
  // Policies are made once (bad names and budgets fail before any model work).
  const made = policies.map((c) => ({ case: c, policy: createPolicy(c.policy, { ...c.options, budget: c.budget }) }));
  const accumulators = new Map<string, Accumulator>();
  const keyOf = (task: string, mode: string, i: number, turn: number) => `${task}\u0000${mode}\u0000${i}\u0000${turn}`;
  const traces: ScbenchStepTrace[] = [];

  for (const task of tasks) {
    for (let s = 0; s < config.samples; s++) {
      const options: CommonTaskOptions = { ...(config.taskOptions?.[task] ?? {}), seed: seed + s, contextLength: config.contextLength, turns: config.turns };
      const sample = generateScbenchSample(task, options);
      for (const mode of modes) {
        const plan = encodePlan(sharedContextPlan(sample, mode), config.encode);
        const capacity = capacityOf(plan, maxNew);
        const shared = sharedPrefill(model, plan.prefill, capacity);
        config.onProgress?.(`${task} sample ${s + 1}/${config.samples} ${mode}: prefill ${plan.prefill.length} tokens in ${(shared.ms / 1000).toFixed(1)} s`);
        for (let i = 0; i < made.length; i++) {
          const { policy } = made[i];
          const run = runPolicy(config, plan, policy, shared, maxNew, stop, repeats);
          run.steps.forEach((step, turn) => {
            const key = keyOf(task, mode, i, turn);
            const acc = accumulators.get(key) ?? emptyAccumulator();
            acc.score += step.score;
            acc.kvBytes += step.kvBytes;
            acc.kvBytesFull += step.kvBytesFull;
            acc.bytesRead += step.bytesRead;
            acc.flops += step.flops;
            acc.prefillMs += shared.ms + run.replayMs;
            acc.decodeMs += step.decodeMs;
            acc.decodeTokens += step.decodeTokens;
            acc.attentionMs += step.attentionMs;
            acc.fullAttentionMs += step.fullAttentionMs;
            acc.fellBack += step.fellBack ? 1 : 0;
            acc.contextTokens += plan.prefill.length;
            acc.count += 1;
            accumulators.set(key, acc);
            traces.push({ task, sample: s, mode, policy: policy.name, budget: made[i].case.budget, turn, ...step.trace });
          });
        }
        shared.cache.dispose();
      }
    }
  }

  const records: ScbenchRecord[] = [];
  for (const task of tasks) {
    for (const mode of modes) {
      made.forEach(({ case: c, policy }, i) => {
        for (let turn = 0; ; turn++) {
          const a = accumulators.get(keyOf(task, mode, i, turn));
          if (!a) break;
          const n = a.count;
          const timed = repeats > 0 && a.attentionMs > 0;
          records.push({
            task,
            mode,
            policy: policy.name,
            label: c.label ?? policy.name,
            budget: c.budget,
            queryAware: policy.queryAware,
            context: config.contextLength,
            contextTokens: a.contextTokens / n,
            turn,
            samples: n,
            accuracy: a.score / n,
            kvBytes: a.kvBytes / n,
            kvBytesFull: a.kvBytesFull / n,
            bytesReadPerStep: a.bytesRead / n,
            attentionFlopsPerStep: a.flops / n,
            prefillMs: a.prefillMs / n,
            decodeMsPerToken: a.decodeTokens > 0 ? a.decodeMs / a.decodeTokens : 0,
            decodeAttentionMs: timed ? a.attentionMs / n : null,
            speedupVsFull: timed ? a.fullAttentionMs / a.attentionMs : null,
            fellBackToFull: a.fellBack / n,
          });
        }
      });
    }
  }
  return { records, traces };
}

function emptyAccumulator(): Accumulator {
  return { score: 0, kvBytes: 0, kvBytesFull: 0, bytesRead: 0, flops: 0, prefillMs: 0, decodeMs: 0, decodeTokens: 0, attentionMs: 0, fullAttentionMs: 0, fellBack: 0, contextTokens: 0, count: 0 };
}

/** Positions a plan needs: the prefill, every kept append, the longest temporary one and the answer. */
function capacityOf(plan: SharedContextPlan<number[]>, maxNew: number): number {
  const kept = plan.steps.reduce((n, s) => n + s.appendKept.length, 0);
  const temporary = Math.max(0, ...plan.steps.map((s) => s.appendTemporary.length));
  return plan.prefill.length + kept + temporary + maxNew;
}

interface SharedPrefill {
  readonly cache: RecordingKVCache;
  readonly log: CacheLog;
  readonly shape: KVCacheShape;
  readonly logits: Float32Array;
  readonly ms: number;
}

/** The plan's shared prefill through the model once, into a recorded full cache. */
function sharedPrefill(model: DecoderModel, tokens: readonly number[], capacity: number): SharedPrefill {
  if (tokens.length === 0) throw new ArgumentError('scbench harness: the shared prefill is empty');
  const cache = new RecordingKVCache(model.createCache(capacity));
  const start = performance.now();
  const logits = readLogits(model.forward([{ tokens, cache }]));
  return { cache, log: cache.log, shape: cache.shape, logits, ms: performance.now() - start };
}

interface StepOutcome {
  readonly score: number;
  readonly kvBytes: number;
  readonly kvBytesFull: number;
  readonly bytesRead: number;
  readonly flops: number;
  readonly decodeMs: number;
  readonly decodeTokens: number;
  readonly attentionMs: number;
  readonly fullAttentionMs: number;
  readonly fellBack: boolean;
  readonly trace: Omit<ScbenchStepTrace, 'task' | 'sample' | 'mode' | 'policy' | 'budget' | 'turn'>;
}

/** Every step of one plan under one policy (see the file comment for the two modes). */
function runPolicy(
  config: ScbenchHarnessConfig,
  plan: SharedContextPlan<number[]>,
  policy: KVPolicy,
  shared: SharedPrefill,
  maxNew: number,
  stop: string,
  repeats: number,
): { steps: StepOutcome[]; replayMs: number } {
  const { model } = config;
  const backend = model.backend;
  const replayStart = performance.now();
  const main = new PolicyKVCache(shared.shape, policy, backend);
  replayInto(shared.log, main, backend);
  const replayMs = performance.now() - replayStart;
  const steps: StepOutcome[] = [];
  try {
    let logits = shared.logits;
    for (const step of plan.steps) {
      if (step.appendKept.length > 0) logits = readLogits(model.forward([{ tokens: step.appendKept, cache: main }]));
      const fork = main.fork();
      try {
        if (step.appendTemporary.length > 0) logits = readLogits(model.forward([{ tokens: step.appendTemporary, cache: fork }]));
        const forkLength = fork.length;
        const answer = decodeGreedy(config, fork, logits, maxNew, stop);
        const report = fork.report();
        const timing = repeats > 0 ? timeDecodeAttention(model, fork, repeats) : { policyMs: 0, fullMs: 0 };
        steps.push({
          score: scoreTurn(answer.prediction, step),
          kvBytes: report.kvBytesKept,
          kvBytesFull: report.kvBytesFull,
          bytesRead: report.bytesReadPerStep,
          flops: decodeAttentionFlops(model, fork),
          decodeMs: answer.ms,
          decodeTokens: answer.tokens,
          attentionMs: timing.policyMs,
          fullAttentionMs: timing.fullMs,
          fellBack: report.fullFallbackLayers.length > 0,
          trace: {
            appendedKept: step.appendKept.length,
            sharedLength: main.length,
            appendedTemporary: step.appendTemporary.length,
            forkLength,
            sharedKvBytes: main.report().kvBytesKept,
            prediction: answer.prediction,
            score: scoreTurn(answer.prediction, step),
          },
        });
      } finally {
        fork.dispose();
      }
    }
  } finally {
    main.dispose();
  }
  return { steps, replayMs };
}

/**
 * Greedy decoding from the logits of the prompt's last token: each chosen token is fed back
 * (its forward is the decode step measured), until the text holds `stop` or maxNew tokens.
 */
function decodeGreedy(config: ScbenchHarnessConfig, cache: PolicyKVCache, first: Float32Array, maxNew: number, stop: string): { prediction: string; tokens: number; ms: number } {
  const ids: number[] = [];
  let logits = first;
  let ms = 0;
  let text = '';
  while (ids.length < maxNew) {
    const next = argmax(logits);
    ids.push(next);
    const start = performance.now();
    logits = readLogits(config.model.forward([{ tokens: [next], cache }]));
    ms += performance.now() - start;
    text = config.decode(ids);
    if (stop !== '' && text.includes(stop)) break;
  }
  const end = stop === '' ? -1 : text.indexOf(stop);
  return { prediction: end >= 0 ? text.slice(0, end) : text, tokens: ids.length, ms };
}

function readLogits(t: Tensor): Float32Array {
  const data = Float32Array.from(t.readSync() as Float32Array);
  t.dispose();
  return data;
}

/** 2 FLOPs per multiply-add, two products (q.k and p.v) per attended position per query head. */
function decodeAttentionFlops(model: DecoderModel, cache: PolicyKVCache): number {
  const { headDim } = model.config;
  let flops = 0;
  for (let layer = 0; layer < cache.shape.layers; layer++) {
    const { numHeads, numKvHeads } = layerShapeOf(model.config, layer);
    const group = numHeads / numKvHeads;
    const lists = cache.lastSelection(layer);
    const attended = lists ? lists.reduce((n, l) => n + l.length, 0) : numKvHeads * cache.length;
    flops += 4 * headDim * group * attended;
  }
  return flops;
}

/**
 * The attention op alone for one decode query per layer, with the cache's last selections and
 * with none (the full cache), on the same keys and values: median totals over `repeats`.
 */
function timeDecodeAttention(model: DecoderModel, cache: PolicyKVCache, repeats: number): { policyMs: number; fullMs: number } {
  const backend: Backend = model.backend;
  const { headDim, slidingWindow } = model.config;
  const rng = new Random(17);
  const layers = cache.shape.layers;
  const queries = Array.from({ length: layers }, (_, layer) => {
    const heads = layerShapeOf(model.config, layer).numHeads;
    return tensor(Float32Array.from({ length: heads * headDim }, () => rng.normal()), [1, heads, headDim], 'f32', backend);
  });
  const selections = Array.from({ length: layers }, (_, layer) => {
    const lists = cache.lastSelection(layer);
    return lists ? selectionTensor(lists, backend) : null;
  });
  const length = cache.length;
  const once = (useSelection: boolean): number => {
    const start = performance.now();
    for (let layer = 0; layer < layers; layer++) {
      const selected = useSelection ? selections[layer] : null;
      const out = attention(queries[layer], cache.keys(layer), cache.values(layer), {
        length,
        queryStart: length - 1,
        scale: 1 / Math.sqrt(headDim),
        positions: selected?.rank === 1 ? selected : undefined,
        positionsPerKvHead: selected?.rank === 2 ? selected : undefined,
        window: slidingWindow,
      });
      out.readSync();
      out.dispose();
    }
    return performance.now() - start;
  };
  const policy: number[] = [];
  const full: number[] = [];
  once(true);
  once(false);
  for (let r = 0; r < repeats; r++) {
    policy.push(once(true));
    full.push(once(false));
  }
  for (const t of [...queries, ...selections]) t?.dispose();
  return { policyMs: median(policy), fullMs: median(full) };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

