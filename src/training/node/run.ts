/**
 * One training run from a validated configuration (run-config.ts) into an output folder:
 *
 *   config.json        the configuration (a resumed run reads it back)
 *   metrics.jsonl      one JSON object per step ({"step", "loss", "learningRate", "sparsity",
 *                      "itemsPerS"}) and per evaluation ({"step", "metric", "value"})
 *   checkpoints/       step-N folders (checkpoint.ts), the newest kept
 *   report.json        the final report (written last, atomically)
 *   model/             language models: a Hugging Face folder (config.json, model.safetensors with
 *                      masked weights stored sparse, tokenizer.json) that `generate` and `eval` load
 *
 * A non-finite loss stops the run; the report then says at which step and which checkpoint is the
 * last finite one. Node only.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, SparsekitError } from '../../core/errors.js';
import { readCifar10Files, readIdxClassification, readTextCorpus } from '../../data/node/files.js';
import { byteLevelTokenizerJson } from '../../data/byte-tokenizer-json.js';
import type { ClassificationDataset } from '../../data/dataset.js';
import { teacherStudentTask } from '../../data/synthetic-teacher.js';
import { writeFileAtomic } from '../../io/node/atomic-file.js';
import { loadTokenizer } from '../../io/node/tokenizer-file.js';
import { parseDecoderConfig } from '../../models/config.js';
import type { DecoderConfig } from '../../models/decoder-config.js';
import { initDecoderParameters } from '../../models/decoder-train.js';
import { llamaConfigJson } from '../../models/llama-config.js';
import { saveModelFolder } from '../../models/node/save-model-folder.js';
import { CsrMatrix } from '../../sparse/csr.js';
import type { SaveableWeight } from '../../models/checkpoint-layout.js';
import type { ClassifierModel } from '../../nn/classifier-model.js';
import { Cnn } from '../../nn/cnn.js';
import { Mlp } from '../../nn/mlp.js';
import { AdamW } from '../../nn/optim/adamw.js';
import type { Optimizer } from '../../nn/optim/optimizer.js';
import { constantRate, type LearningRateSchedule, warmupCosine } from '../../nn/optim/schedule.js';
import { Sgd } from '../../nn/optim/sgd.js';
import { SparsityController } from '../controller.js';
import { createSparseTrainingMethod } from '../method-registry.js';
import type { TrainingConfig } from '../run-config.js';
import { validateTrainingConfig } from '../run-config.js';
import type { TrainingTask } from '../task.js';
import { ClassificationTask } from '../tasks/classification.js';
import { LanguageModelTask } from '../tasks/language-model.js';
import { type EvaluationRecord, NonFiniteLossError, type StepRecord, train } from '../trainer.js';
import type { SparseTrainingMethod } from '../types.js';
import { checkpointDir, checkpointSteps, loadLatestCheckpoint, saveCheckpoint } from './checkpoint.js';

export const RUN_CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const REPORT_FILE = 'report.json';
export const MODEL_DIR = 'model';

export interface TrainingRunOptions {
  /** The configuration of a new run (ignored with `resume`: the folder's own is used). */
  readonly config?: TrainingConfig;
  readonly outDir: string;
  /** Continue the run in `outDir` from its newest checkpoint. */
  readonly resume?: boolean;
  /** Start a new run in a non-empty `outDir`, replacing what it holds. */
  readonly force?: boolean;
  readonly onStep?: (record: StepRecord, steps: number) => void;
  readonly onEvaluation?: (record: EvaluationRecord) => void;
  /** Stage messages ("loading data", "saving the model"). */
  readonly onMessage?: (message: string) => void;
}

export interface LayerDensity {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly density: number;
}

export interface TrainingReport {
  readonly status: 'completed' | 'stopped';
  /** Why a stopped run stopped. */
  readonly reason?: string;
  readonly config: TrainingConfig;
  readonly task: string;
  readonly parameters: number;
  readonly stepsDone: number;
  readonly resumedFrom: number | null;
  readonly finalLoss: number | null;
  readonly evaluations: readonly EvaluationRecord[];
  readonly itemsPerS: number;
  readonly itemUnit: string;
  readonly seconds: number;
  readonly sparsity: number;
  readonly layers: readonly LayerDensity[];
  readonly lastCheckpoint: string | null;
  readonly modelDir: string | null;
}

interface BuiltRun {
  readonly task: TrainingTask;
  readonly decoderConfig: DecoderConfig | null;
  readonly hfConfig: Record<string, unknown> | null;
  readonly tokenizerJson: Record<string, unknown> | null;
  readonly tokenizerFrom: string | null;
}

async function classificationData(data: TrainingConfig['data'], seed: number): Promise<{ train: ClassificationDataset; test: ClassificationDataset }> {
  switch (data.type) {
    case 'teacher': {
      const task = teacherStudentTask({ ...data, seed: data.seed ?? seed });
      return { train: task.train, test: task.test };
    }
    case 'idx':
      return { train: await readIdxClassification(data.trainImages, data.trainLabels), test: await readIdxClassification(data.testImages, data.testLabels) };
    case 'cifar10':
      return { train: await readCifar10Files(data.train), test: await readCifar10Files(data.test) };
    default:
      throw new ArgumentError(`data type '${data.type}' is not classification data`);
  }
}

async function buildRun(config: TrainingConfig): Promise<BuiltRun> {
  const { model, data, run } = config;
  if (model.type === 'llama') {
    if (data.type !== 'text') throw new ArgumentError('a llama model trains on text data');
    const tokenizer = data.tokenizer === 'bytes' ? null : await loadTokenizer(data.tokenizer);
    const corpus = await readTextCorpus(data.path, { trainFraction: data.trainFraction, ...(tokenizer ? { tokenizer } : {}) });
    const hfConfig: Record<string, unknown> = {
      ...llamaConfigJson({ hiddenSize: model.hiddenSize, intermediateSize: model.intermediateSize, heads: model.heads, kvHeads: model.kvHeads ?? model.heads, layers: model.layers, vocabSize: corpus.vocabSize, maxPositions: model.maxPositions }),
      tie_word_embeddings: model.tieWordEmbeddings,
      initializer_range: model.initStd,
    };
    const decoderConfig = parseDecoderConfig(hfConfig, 'the training config');
    const params = initDecoderParameters(decoderConfig, run.seed, model.initStd);
    const task = new LanguageModelTask({ config: decoderConfig, params, train: corpus.train, heldOut: corpus.heldOut, batchSize: run.batchSize, seqLen: run.seqLen, seed: run.seed, evalWindows: run.evalWindows });
    return { task, decoderConfig, hfConfig, tokenizerJson: tokenizer ? null : byteLevelTokenizerJson(), tokenizerFrom: tokenizer ? data.tokenizer : null };
  }
  const { train: trainSet, test } = await classificationData(data, run.seed);
  let classifier: ClassifierModel;
  if (model.type === 'mlp') {
    const features = trainSet.shape.reduce((a, b) => a * b, 1);
    classifier = new Mlp([features, ...model.hidden, trainSet.classes], { activation: model.activation, seed: run.seed });
  } else {
    const inputShape = trainSet.shape.length === 2 ? [1, ...trainSet.shape] : [...trainSet.shape];
    classifier = new Cnn({ inputShape, classes: trainSet.classes, channels: model.channels, seed: run.seed });
  }
  const task = new ClassificationTask({ model: classifier, train: trainSet, test, batchSize: run.batchSize, seed: run.seed });
  return { task, decoderConfig: null, hfConfig: null, tokenizerJson: null, tokenizerFrom: null };
}

function optimizerFor(config: TrainingConfig, task: TrainingTask): Optimizer {
  const { optimizer } = config;
  const params = [...task.parameters.values()];
  if (optimizer.type === 'sgd') return new Sgd(params, { learningRate: optimizer.learningRate, momentum: optimizer.momentum, weightDecay: optimizer.weightDecay });
  return new AdamW(params, { learningRate: optimizer.learningRate, betas: optimizer.betas, weightDecay: optimizer.weightDecay });
}

function scheduleFor(config: TrainingConfig): LearningRateSchedule {
  const { schedule, learningRate } = config.optimizer;
  if (schedule.type === 'constant') return constantRate(learningRate);
  return warmupCosine({ peak: learningRate, warmupSteps: schedule.warmupSteps, totalSteps: config.run.steps, minRatio: schedule.minRatio });
}

function hasRandomState(method: SparseTrainingMethod | null): method is SparseTrainingMethod & { randomState(): number[]; restoreRandomState(s: readonly number[]): void } {
  return method !== null && 'randomState' in method && 'restoreRandomState' in method;
}

async function prepareOutDir(options: TrainingRunOptions): Promise<TrainingConfig> {
  const { outDir } = options;
  if (options.resume) {
    const path = join(outDir, RUN_CONFIG_FILE);
    if (!existsSync(path)) throw new SparsekitError('E_NO_RUN', `${outDir} is not a training run folder (no ${RUN_CONFIG_FILE}); start one with --config`);
    return validateTrainingConfig(JSON.parse(await readFile(path, 'utf8')), path);
  }
  if (!options.config) throw new ArgumentError('a new training run needs a config');
  if (existsSync(outDir) && (await readdir(outDir)).length > 0 && !options.force) {
    throw new SparsekitError('E_EXISTS', `${outDir} already holds files; pass --force to start over there, or --resume ${outDir} to continue it`);
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, METRICS_FILE), '');
  await writeFileAtomic(join(outDir, RUN_CONFIG_FILE), `${JSON.stringify(options.config, null, 2)}\n`);
  return options.config;
}

/** Keeps the metrics lines of steps up to `step` (a resumed run rewrites what came after its checkpoint). */
async function truncateMetrics(path: string, step: number): Promise<EvaluationRecord[]> {
  const text = existsSync(path) ? await readFile(path, 'utf8') : '';
  const kept = text.split('\n').filter((line) => line.trim() !== '' && (JSON.parse(line) as { step: number }).step <= step);
  await writeFile(path, kept.map((l) => `${l}\n`).join(''));
  return kept.map((l) => JSON.parse(l) as EvaluationRecord | StepRecord).filter((r): r is EvaluationRecord => 'metric' in r);
}

function maskDensities(task: TrainingTask, controller: SparsityController | null): LayerDensity[] {
  return task.sparseLayers.map((l) => {
    const mask = controller?.maskOf(l.name);
    const kept = mask ? mask.reduce((s, m) => s + m, 0) : l.rows * l.cols;
    return { name: l.name, rows: l.rows, cols: l.cols, density: kept / (l.rows * l.cols) };
  });
}

/** Masked weights stored sparse (CSR) when that is smaller than dense (density below about 1/2). */
async function saveableWeights(task: TrainingTask, controller: SparsityController | null): Promise<Map<string, SaveableWeight>> {
  const sparse = new Map(task.sparseLayers.map((l) => [l.name, l]));
  const out = new Map<string, SaveableWeight>();
  for (const [name, p] of task.parameters) {
    const layer = sparse.get(name);
    const mask = layer ? controller?.maskOf(name) : undefined;
    const density = mask ? mask.reduce((s, m) => s + m, 0) / mask.length : 1;
    out.set(name, layer && density < 0.5 ? CsrMatrix.fromDense((await p.value.read()) as Float32Array, layer.rows, layer.cols, p.value.backend) : p.value);
  }
  return out;
}

export async function runTraining(options: TrainingRunOptions): Promise<TrainingReport> {
  const { outDir } = options;
  const say = options.onMessage ?? (() => {});
  const config = await prepareOutDir(options);
  say('loading data and building the model');
  const built = await buildRun(config);
  const { task } = built;
  const optimizer = optimizerFor(config, task);
  const method = createSparseTrainingMethod({ ...config.sparsity, seed: config.run.seed }, config.run.steps);
  const controller = method ? new SparsityController(task.sparseLayers, method, optimizer) : null;
  let startStep = 0;
  let resumedFrom: number | null = null;
  const evaluations: EvaluationRecord[] = [];
  if (options.resume) {
    const loaded = await loadLatestCheckpoint(outDir, task.parameters, optimizer);
    startStep = loaded.state.step;
    resumedFrom = startStep;
    task.restoreDataState(loaded.state.dataRandomState);
    if (controller) {
      if (!loaded.masks || !loaded.state.controller) throw new SparsekitError('E_CHECKPOINT', `${loaded.dir} has no masks, but the run trains sparse`);
      controller.restore(loaded.masks, loaded.state.controller);
    }
    if (hasRandomState(method) && loaded.state.methodRandomState) method.restoreRandomState(loaded.state.methodRandomState);
    evaluations.push(...(await truncateMetrics(join(outDir, METRICS_FILE), startStep)));
    say(`resuming after step ${startStep} from ${loaded.dir}`);
  }
  const parameterCount = [...task.parameters.values()].reduce((s, p) => s + p.value.size, 0);
  const metricsPath = join(outDir, METRICS_FILE);
  let lastCheckpoint: string | null = null;
  const save = async (step: number) => {
    lastCheckpoint = await saveCheckpoint(
      outDir,
      {
        parameters: task.parameters,
        optimizer,
        masks: controller?.masks() ?? null,
        state: {
          step,
          dataRandomState: task.dataState(),
          methodRandomState: hasRandomState(method) ? method.randomState() : null,
          controller: controller ? { updates: controller.updates, weightsMoved: controller.weightsMoved } : null,
          config,
        },
      },
      config.run.keepCheckpoints,
    );
  };
  let pending: string[] = [];
  const flush = async () => {
    if (pending.length > 0) await appendFile(metricsPath, pending.join(''));
    pending = [];
  };
  const base = {
    config,
    task: task.kind,
    parameters: parameterCount,
    resumedFrom,
    itemUnit: task.itemUnit,
  };
  const started = performance.now();
  const writeReport = async (outcome: Pick<TrainingReport, 'status' | 'lastCheckpoint' | 'modelDir'> & { reason?: string }): Promise<TrainingReport> => {
    const report: TrainingReport = {
      ...base,
      ...outcome,
      stepsDone,
      finalLoss: lastLoss,
      evaluations,
      itemsPerS,
      seconds: (performance.now() - started) / 1000,
      sparsity: controller?.sparsity() ?? 0,
      layers: maskDensities(task, controller),
    };
    await writeFileAtomic(join(outDir, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  };
  let lastLoss: number | null = null;
  let stepsDone = startStep;
  let itemsPerS = 0;
  try {
    const result = await train({
      task,
      optimizer,
      steps: config.run.steps,
      startStep,
      schedule: scheduleFor(config),
      ...(controller ? { controller } : {}),
      ...(config.run.clipNorm ? { clipNorm: config.run.clipNorm } : {}),
      evalEvery: config.run.evalEvery,
      onStep: (record) => {
        lastLoss = record.loss;
        stepsDone = record.step;
        itemsPerS = record.itemsPerS;
        pending.push(`${JSON.stringify(record)}\n`);
        options.onStep?.(record, config.run.steps);
      },
      onEvaluation: async (record) => {
        evaluations.push(record);
        pending.push(`${JSON.stringify(record)}\n`);
        await flush();
        options.onEvaluation?.(record);
      },
      checkpoint: {
        every: config.run.checkpointEvery ?? config.run.steps,
        save: async (step) => {
          await flush();
          await save(step);
        },
      },
    });
    await flush();
    itemsPerS = result.itemsPerS;
  } catch (error) {
    await flush();
    // A NaN/Inf loss, or weights that turned non-finite before a checkpoint: stop, say where, keep the last finite checkpoint.
    const nonFinite = error instanceof NonFiniteLossError || (error instanceof SparsekitError && error.code === 'E_NONFINITE');
    if (!nonFinite) throw error;
    const last = (await checkpointSteps(outDir)).pop();
    await writeReport({
      status: 'stopped',
      reason: `${(error as Error).message}; the last finite checkpoint is ${last === undefined ? 'none' : `step ${last}`}`,
      lastCheckpoint: last === undefined ? null : checkpointDir(outDir, last),
      modelDir: null,
    });
    throw error;
  }
  let modelDir: string | null = null;
  if (built.hfConfig) {
    say('saving the model folder');
    modelDir = join(outDir, MODEL_DIR);
    await saveModelFolder(modelDir, {
      config: built.hfConfig,
      weights: await saveableWeights(task, controller),
      ...(built.tokenizerFrom ? { tokenizerFrom: built.tokenizerFrom } : {}),
      ...(built.tokenizerJson ? { files: { 'tokenizer.json': JSON.stringify(built.tokenizerJson) } } : {}),
      force: true,
    });
  }
  const report = await writeReport({ status: 'completed', lastCheckpoint, modelDir });
  controller?.dispose();
  return report;
}
