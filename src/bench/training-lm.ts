/**
 * Language-model part of the sparse-training benchmark: a small Llama-family model (byte-level,
 * about 0.9M parameters) trained on tinyshakespeare (first 90%; held-out loss on the last 10%)
 * dense and with static and RigL masks at 80% (ERK) for the same steps. Reports the held-out loss
 * before training, during it and at the end, and training throughput in tokens/s; checks that
 * each run's held-out loss falls.
 */
import { readTextCorpus } from '../data/node/files.js';
import { parseDecoderConfig } from '../models/config.js';
import { initDecoderParameters } from '../models/decoder-train.js';
import { llamaConfigJson } from '../models/llama-config.js';
import { AdamW } from '../nn/optim/adamw.js';
import { warmupCosine } from '../nn/optim/schedule.js';
import { SparsityController } from '../training/controller.js';
import { createSparseTrainingMethod, type SparseTrainingMethodName } from '../training/method-registry.js';
import { LanguageModelTask } from '../training/tasks/language-model.js';
import { train } from '../training/trainer.js';
import type { BarResult } from './kernel-bars.js';

export interface LanguageModelCase {
  readonly method: SparseTrainingMethodName;
  readonly sparsity: number;
}

export interface LanguageModelSuiteOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly learningRate: number;
  /** Held-out windows per evaluation (of seqLen tokens each). */
  readonly evalWindows: number;
  readonly evalEvery: number;
  readonly cases: readonly LanguageModelCase[];
}

export interface LanguageModelRecord {
  method: SparseTrainingMethodName;
  sparsity: number;
  distribution: 'erk' | null;
  task: 'tinyshakespeare-lm';
  metric: 'held-out loss';
  /** Held-out loss (nats per byte) at the end. */
  value: number;
  denseValue: number;
  initialValue: number;
  /** Held-out loss at each evaluation. */
  curve: { step: number; value: number }[];
  steps: number;
  parameters: number;
  tokensPerS: number;
}

export const FULL_LM_SUITE: LanguageModelSuiteOptions = {
  steps: 600,
  batchSize: 16,
  seqLen: 64,
  hiddenSize: 128,
  intermediateSize: 384,
  layers: 4,
  heads: 4,
  learningRate: 3e-3,
  evalWindows: 256,
  evalEvery: 150,
  cases: [
    { method: 'dense', sparsity: 0 },
    { method: 'static', sparsity: 0.8 },
    { method: 'rigl', sparsity: 0.8 },
  ],
};

export const QUICK_LM_SUITE: LanguageModelSuiteOptions = {
  ...FULL_LM_SUITE,
  steps: 150,
  evalWindows: 64,
  evalEvery: 75,
  cases: [
    { method: 'dense', sparsity: 0 },
    { method: 'rigl', sparsity: 0.8 },
  ],
};

export async function runLanguageModelSuite(textPath: string, options: LanguageModelSuiteOptions, onProgress: (message: string) => void = () => {}): Promise<LanguageModelRecord[]> {
  const corpus = await readTextCorpus(textPath);
  const hf = llamaConfigJson({ hiddenSize: options.hiddenSize, intermediateSize: options.intermediateSize, heads: options.heads, kvHeads: options.heads, layers: options.layers, vocabSize: corpus.vocabSize, maxPositions: options.seqLen });
  const config = parseDecoderConfig(hf, 'the benchmark model');
  const records: LanguageModelRecord[] = [];
  for (const c of options.cases) {
    const label = c.method === 'dense' ? 'dense' : `${c.method} ${Math.round(c.sparsity * 100)}%`;
    const params = initDecoderParameters(config, 1);
    const task = new LanguageModelTask({ config, params, train: corpus.train, heldOut: corpus.heldOut, batchSize: options.batchSize, seqLen: options.seqLen, seed: 1, evalWindows: options.evalWindows });
    const optimizer = new AdamW([...params.values()], { learningRate: options.learningRate, betas: [0.9, 0.95], weightDecay: 0.01 });
    const method = createSparseTrainingMethod({ method: c.method, sparsity: c.sparsity, distribution: 'erk', seed: 1 }, options.steps);
    const controller = method ? new SparsityController(task.sparseLayers, method, optimizer) : undefined;
    // Held-out loss of the initial weights (masked ones for sparse runs); train() then finds the controller started.
    controller?.start();
    const initialValue = (await task.evaluate()).value;
    const result = await train({
      task,
      optimizer,
      steps: options.steps,
      schedule: warmupCosine({ peak: options.learningRate, warmupSteps: Math.round(options.steps / 20), totalSteps: options.steps }),
      clipNorm: 1,
      evalEvery: options.evalEvery,
      ...(controller ? { controller } : {}),
      onStep: (s) => {
        if (s.step % 25 === 0) onProgress(`${label}: step ${s.step}/${options.steps}, loss ${s.loss.toFixed(3)}, ${Math.round(s.itemsPerS)} tokens/s`);
      },
    });
    const curve = result.evaluations.map((e) => ({ step: e.step, value: e.value }));
    records.push({
      method: c.method,
      sparsity: c.sparsity,
      distribution: c.method === 'dense' ? null : 'erk',
      task: 'tinyshakespeare-lm',
      metric: 'held-out loss',
      value: curve[curve.length - 1].value,
      denseValue: Number.NaN,
      initialValue,
      curve,
      steps: options.steps,
      parameters: [...params.values()].reduce((s, p) => s + p.value.size, 0),
      tokensPerS: result.itemsPerS,
    });
    controller?.dispose();
    task.dispose();
    for (const p of params.values()) p.value.dispose();
  }
  const dense = records.find((r) => r.method === 'dense');
  for (const r of records) r.denseValue = dense?.value ?? Number.NaN;
  return records;
}

/** Every run's held-out loss falls below its initial value (and below uniform over bytes, ln 256). */
export function languageModelBars(records: readonly LanguageModelRecord[]): BarResult[] {
  return records.map((r) => ({
    bar: `${r.method}${r.method === 'dense' ? '' : ` ${Math.round(r.sparsity * 100)}%`} LM: held-out loss drop (${r.initialValue.toFixed(3)} -> ${r.value.toFixed(3)} nats/byte)`,
    value: r.initialValue - r.value,
    threshold: 0,
    strict: true,
    unit: 'points',
    pass: r.value < r.initialValue && r.value < Math.log(256),
  }));
}
