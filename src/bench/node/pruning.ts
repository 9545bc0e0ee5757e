/**
 * The pruning benchmark: every case prunes the trained tinyshakespeare model (calibration windows
 * from the training split), saves it as a model folder, reloads it, and scores held-out perplexity
 * on what was saved; the case's structure is then timed on the ~100M decode-benchmark model
 * against the dense model in alternating rounds (sparsity-profile.ts says why a larger model).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../core/backend.js';
import { ArgumentError } from '../../core/errors.js';
import { readUtf8File } from '../../io/node/text-file.js';
import type { DecoderConfig } from '../../models/decoder-config.js';
import { DecoderModel } from '../../models/llama.js';
import { loadModelFolder } from '../../models/node/model-folder.js';
import { saveModelFolder } from '../../models/node/save-model-folder.js';
import { checkpointValuesDType, namedWeights } from '../../models/named-weights.js';
import { perplexity } from '../../models/perplexity.js';
import { randomDecoderWeights } from '../../models/random-weights.js';
import { applyPruneSteps } from '../../pruning/apply-steps.js';
import { sampleCalibration } from '../../pruning/calibration.js';
import { needsCalibration } from '../../pruning/pipeline.js';
import { type DecodeSuiteOptions, pairedDecodeTiming, type PairedDecodeTiming } from '../decode.js';
import { caseLabel, type PruningCase, type PruningRecord, recordMethod } from '../pruning-cases.js';
import { planProfiledModel } from '../sparsity-profile.js';

export interface PruningSuiteOptions {
  /** The trained model folder (config.json, model.safetensors, tokenizer.json). */
  readonly modelDir: string;
  /** Its corpus: the first `trainFraction` is sampled for calibration, the rest is held out. */
  readonly textFile: string;
  readonly trainFraction: number;
  /** Characters of the held-out split scored (null: all of it). */
  readonly evalChars: number | null;
  readonly calibration: { readonly sequences: number; readonly length: number; readonly seed: number };
  readonly cases: readonly PruningCase[];
  /** The model each case's structure is timed on, and how. */
  readonly speedModel: DecoderConfig;
  readonly speedTiming: Pick<DecodeSuiteOptions, 'promptTokens' | 'newTokens' | 'rounds' | 'seed'>;
}

export interface PruningProgress {
  (event: { readonly done: number; readonly total: number; readonly label: string; readonly stage: string }): void;
}

export interface PruningSuiteResult {
  readonly records: PruningRecord[];
  readonly evalTokens: number;
  readonly calibrationTokens: number;
}

export async function runPruningSuite(backend: Backend, options: PruningSuiteOptions, onProgress: PruningProgress = () => {}): Promise<PruningSuiteResult> {
  const total = options.cases.length + 1;
  const loaded = await loadModelFolder(options.modelDir, { backend });
  const tokenizer = loaded.tokenizer;
  if (!tokenizer) throw new ArgumentError(`${options.modelDir} has no tokenizer.json; the pruning benchmark tokenizes its corpus`);
  const configJson = JSON.parse(await readFile(join(options.modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const denseModel = new DecoderModel(loaded.config, loaded.weights);

  const text = await readUtf8File(options.textFile);
  const split = Math.floor(options.trainFraction * text.length);
  const heldOut = options.evalChars === null ? text.slice(split) : text.slice(split, split + options.evalChars);
  const evalIds = tokenizer.encode(heldOut);
  const seqLen = Math.min(loaded.config.maxPositions, 512);
  const score = async (model: DecoderModel) => (await perplexity(model, evalIds, { seqLen, stride: seqLen })).perplexity;
  const calibrationWindows = options.cases.some((c) => needsCalibration(c.step))
    ? sampleCalibration(tokenizer.encode(text.slice(0, split)), options.calibration)
    : [];

  onProgress({ done: 0, total, label: 'dense', stage: 'scoring and timing the dense model' });
  const densePerplexity = await score(denseModel);
  const speedDense = new DecoderModel(options.speedModel, randomDecoderWeights(options.speedModel, options.speedTiming.seed, undefined, backend));
  const timings = new Map<string, PairedDecodeTiming>();
  const denseTiming = await pairedDecodeTiming(speedDense, speedDense, options.speedTiming);
  const records: PruningRecord[] = [
    {
      method: 'dense',
      refine: null,
      pattern: 'dense',
      allocation: 'none',
      sparsity: 0,
      achievedSparsity: 0,
      perplexity: densePerplexity,
      densePerplexity,
      decodeSpeedupVsDense: 1,
      decodeMsPerToken: denseTiming.denseMsPerToken,
      denseDecodeMsPerToken: denseTiming.denseMsPerToken,
      fileBytes: loaded.source.bytes,
      denseFileBytes: loaded.source.bytes,
      pruneSeconds: 0,
    },
  ];

  const scratch = await mkdtemp(join(tmpdir(), 'sparsekit-bench-pruning-'));
  try {
    for (const [i, { step }] of options.cases.entries()) {
      const label = caseLabel(step);
      const report = (stage: string) => onProgress({ done: i + 1, total, label, stage });
      report('pruning');
      const started = performance.now();
      const outcome = await applyPruneSteps(denseModel, calibrationWindows, [step], { progress: (stage) => report(stage) });
      const pruneSeconds = (performance.now() - started) / 1000;

      // Score what a user gets: the folder as written (values in the checkpoint's dtype), reloaded.
      report('saving and reloading');
      const out = join(scratch, `case-${i}`);
      await saveModelFolder(out, {
        config: { ...configJson, ...outcome.configPatch },
        weights: namedWeights(outcome.model.weights, loaded.config.tieWordEmbeddings),
        tokenizerFrom: options.modelDir,
        valuesDType: checkpointValuesDType(configJson),
      });
      const reloaded = await loadModelFolder(out, { backend });
      report('scoring held-out perplexity');
      const ppl = await score(new DecoderModel(reloaded.config, reloaded.weights));
      disposeNew(reloaded.weights.tensors(), denseModel);
      disposeNew(outcome.model.weights.tensors(), denseModel);
      await rm(out, { recursive: true, force: true });

      report('timing decode on the ~100M model');
      const plan = planProfiledModel(options.speedModel, loaded.config, outcome.model.config, outcome.layers);
      let timing = timings.get(plan.key);
      if (!timing) {
        const variant = new DecoderModel(plan.config, randomDecoderWeights(plan.config, options.speedTiming.seed, plan.linear, backend));
        timing = await pairedDecodeTiming(speedDense, variant, options.speedTiming);
        for (const t of variant.weights.tensors()) t.dispose();
        timings.set(plan.key, timing);
      }
      const params = outcome.layers.reduce((s, l) => s + l.rows * l.cols, 0);
      records.push({
        method: recordMethod(step),
        refine: step.refine ?? null,
        pattern: step.pattern,
        allocation: step.allocation,
        sparsity: step.sparsity,
        achievedSparsity: outcome.stepSparsities[0] ?? outcome.layers.reduce((s, l) => s + l.sparsity * l.rows * l.cols, 0) / params,
        perplexity: ppl,
        densePerplexity,
        decodeSpeedupVsDense: timing.speedup,
        decodeMsPerToken: timing.variantMsPerToken,
        denseDecodeMsPerToken: timing.denseMsPerToken,
        fileBytes: reloaded.source.bytes,
        denseFileBytes: loaded.source.bytes,
        pruneSeconds,
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
    for (const t of speedDense.weights.tensors()) t.dispose();
  }
  return { records, evalTokens: evalIds.length, calibrationTokens: calibrationWindows.reduce((s, w) => s + w.length, 0) };
}

/** Frees the tensors a pruned model made, not those it shares with the dense model. */
function disposeNew(tensors: Iterable<{ dispose(): void }>, dense: DecoderModel): void {
  const shared = new Set<unknown>(dense.weights.tensors());
  for (const t of tensors) if (!shared.has(t)) t.dispose();
}
