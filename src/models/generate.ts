/**
 * Text generation with a DecoderModel: one prefill step over every prompt (a ragged batch),
 * then one decode step per new token for the sequences still running, each stopping at an
 * end-of-sequence token or after maxNewTokens. Tokens are reported as they come.
 */
import { ArgumentError } from '../core/errors.js';
import type { DecoderModel, SequenceStep } from './llama.js';
import type { KVCache } from './kv-cache.js';
import { createSampler, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number;
  /** Stop a sequence at these ids (default: the model's eos ids). Pass [] to never stop early. */
  readonly eosTokenIds?: readonly number[];
  /** The end-of-sequence ids cannot be chosen before this many new tokens (HF's min_new_tokens). */
  readonly minNewTokens?: number;
  /** Called with each new token of each sequence, in order. */
  readonly onToken?: (sequence: number, token: number) => void;
}

export interface GenerateResult {
  /** The new tokens of each sequence (the eos token included when it stopped there). */
  readonly tokens: number[][];
  readonly stats: {
    readonly promptTokens: number;
    readonly newTokens: number;
    readonly prefillMs: number;
    readonly decodeMs: number;
    /** Bytes of all sequences' KV caches. */
    readonly kvCacheBytes: number;
  };
}

export async function generate(model: DecoderModel, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<GenerateResult> {
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0) throw new ArgumentError(`max new tokens must be a positive integer, got ${maxNewTokens}`);
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) throw new ArgumentError('every prompt needs at least one token');
  const context = model.config.maxPositions;
  for (const p of prompts) {
    if (p.length >= context) {
      throw new ArgumentError(`a prompt of ${p.length} tokens leaves no room in the model's context of ${context} tokens (max_position_embeddings)`);
    }
  }
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds);
  const minNewTokens = options.minNewTokens ?? 0;
  const sample = createSampler(options);
  const caches: KVCache[] = prompts.map((p) => model.createCache(Math.min(context, p.length + maxNewTokens)));
  const tokens: number[][] = prompts.map(() => []);
  try {
    let steps: SequenceStep[] = prompts.map((p, i) => ({ tokens: p, cache: caches[i] }));
    let running = prompts.map((_, i) => i);
    const started = performance.now();
    let prefillMs = 0;
    for (let step = 0; running.length > 0; step++) {
      const logits = model.forward(steps);
      const rows = (await logits.read()) as Float32Array;
      logits.dispose();
      if (step === 0) prefillMs = performance.now() - started;
      const vocab = model.config.vocabSize;
      const next: number[] = [];
      const stillRunning: number[] = [];
      running.forEach((seq, r) => {
        const row = rows.subarray(r * vocab, (r + 1) * vocab);
        if (tokens[seq].length < minNewTokens) for (const id of eos) if (id < vocab) row[id] = -Infinity;
        const token = sample(row);
        tokens[seq].push(token);
        options.onToken?.(seq, token);
        const full = caches[seq].length + 1 > caches[seq].shape.capacity;
        if (!eos.has(token) && tokens[seq].length < maxNewTokens && !full) {
          stillRunning.push(seq);
          next.push(token);
        }
      });
      running = stillRunning;
      steps = running.map((seq, i) => ({ tokens: [next[i]], cache: caches[seq] }));
    }
    const decodeMs = performance.now() - started - prefillMs;
    return {
      tokens,
      stats: {
        promptTokens: prompts.reduce((s, p) => s + p.length, 0),
        newTokens: tokens.reduce((s, t) => s + t.length, 0),
        prefillMs,
        decodeMs,
        kvCacheBytes: caches.reduce((s, c) => s + c.bytes(), 0),
      },
    };
  } finally {
    for (const c of caches) c.dispose();
  }
}
