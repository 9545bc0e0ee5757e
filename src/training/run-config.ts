/**
 * The `sparsekit train --config FILE` configuration (JSON or YAML): model, data, optimizer and
 * its schedule, the sparse-training method, and the run's length, evaluation and checkpoints.
 * Validated by a zod schema, so a mistake is reported by its field path before anything runs.
 */
import { z } from 'zod';
import { parseConfigText, validateConfig } from '../io/config-text.js';
import { DENSITY_DISTRIBUTIONS } from './densities.js';
import { SPARSE_TRAINING_METHODS } from './method-registry.js';

const positiveInt = z.number().int().positive();

const LlamaModelSchema = z
  .object({
    type: z.literal('llama'),
    hiddenSize: positiveInt.default(128),
    intermediateSize: positiveInt.default(384),
    layers: positiveInt.default(4),
    heads: positiveInt.default(4),
    kvHeads: positiveInt.optional(),
    /** The context the saved model declares (max_position_embeddings); at least the training seqLen. */
    maxPositions: positiveInt.default(256),
    tieWordEmbeddings: z.boolean().default(false),
    /** Standard deviation of the initial weights (HF's initializer_range). */
    initStd: z.number().positive().default(0.02),
  })
  .strict()
  .refine((m) => m.hiddenSize % m.heads === 0, { message: 'hiddenSize must be a multiple of heads' })
  .refine((m) => m.kvHeads === undefined || m.heads % m.kvHeads === 0, { message: 'heads must be a multiple of kvHeads' });

const MlpModelSchema = z
  .object({
    type: z.literal('mlp'),
    hidden: z.array(positiveInt).default([256, 256]),
    activation: z.enum(['relu', 'gelu', 'silu', 'tanh']).default('relu'),
  })
  .strict();

const CnnModelSchema = z
  .object({
    type: z.literal('cnn'),
    channels: z.array(positiveInt).default([16, 32]),
    hidden: positiveInt.default(128),
  })
  .strict();

const TextDataSchema = z
  .object({
    type: z.literal('text'),
    /** A UTF-8 text file: the first trainFraction for training, the rest held out. */
    path: z.string(),
    /** 'bytes' (a 256-token byte-level vocabulary) or a folder holding tokenizer.json (e.g. a model folder). */
    tokenizer: z.string().default('bytes'),
    trainFraction: z.number().gt(0).lt(1).default(0.9),
  })
  .strict();

const TeacherDataSchema = z
  .object({
    type: z.literal('teacher'),
    inputDim: positiveInt.default(32),
    hiddenDim: positiveInt.default(32),
    classes: z.number().int().min(2).default(10),
    trainCount: positiveInt.default(20_000),
    testCount: positiveInt.default(4000),
    seed: z.number().int().default(1),
  })
  .strict();

const IdxDataSchema = z
  .object({
    type: z.literal('idx'),
    /** MNIST / Fashion-MNIST files (optionally .gz). */
    trainImages: z.string(),
    trainLabels: z.string(),
    testImages: z.string(),
    testLabels: z.string(),
  })
  .strict();

const Cifar10DataSchema = z
  .object({
    type: z.literal('cifar10'),
    /** data_batch_*.bin files. */
    train: z.array(z.string()).min(1),
    /** test_batch.bin. */
    test: z.array(z.string()).min(1),
  })
  .strict();

const ScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant') }).strict(),
  z
    .object({
      type: z.literal('warmup-cosine'),
      warmupSteps: z.number().int().min(0).default(0),
      minRatio: z.number().min(0).max(1).default(0.1),
    })
    .strict(),
]);

const OptimizerSchema = z
  .object({
    type: z.enum(['adamw', 'sgd']).default('adamw'),
    learningRate: z.number().positive(),
    weightDecay: z.number().min(0).default(0),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    momentum: z.number().min(0).lt(1).default(0.9),
    schedule: ScheduleSchema.default({ type: 'constant' }),
  })
  .strict();

const SparsitySchema = z
  .object({
    method: z.enum(SPARSE_TRAINING_METHODS).default('dense'),
    sparsity: z.number().min(0, 'sparsity must be in [0, 1)').lt(1, 'sparsity must be in [0, 1): 1 would remove every weight').default(0),
    distribution: z.enum(DENSITY_DISTRIBUTIONS).default('erk'),
    interval: positiveInt.optional(),
    dropFraction: z.number().gt(0).lt(1).optional(),
    startFraction: z.number().min(0).lt(1).optional(),
    endFraction: z.number().gt(0).max(1).optional(),
  })
  .strict()
  .refine((s) => s.method === 'dense' || s.sparsity > 0, { message: 'a sparse method needs sparsity > 0', path: ['sparsity'] });

const RunSchema = z
  .object({
    steps: positiveInt,
    batchSize: positiveInt,
    /** Language models: tokens per training window. */
    seqLen: positiveInt.default(64),
    seed: z.number().int().default(1),
    /** Clip gradients to this global norm (off when absent). */
    clipNorm: z.number().positive().optional(),
    /** Evaluate every this many steps (0: only at the end). */
    evalEvery: z.number().int().min(0).default(0),
    /** Language models: held-out windows evaluated (all when absent). */
    evalWindows: positiveInt.optional(),
    /** Write a checkpoint every this many steps (and at the end). */
    checkpointEvery: positiveInt.optional(),
    /** Checkpoints kept (the newest). */
    keepCheckpoints: positiveInt.default(2),
    threads: positiveInt.optional(),
  })
  .strict();

export const TrainingConfigSchema = z
  .object({
    model: z.discriminatedUnion('type', [LlamaModelSchema, MlpModelSchema, CnnModelSchema]),
    data: z.discriminatedUnion('type', [TextDataSchema, TeacherDataSchema, IdxDataSchema, Cifar10DataSchema]),
    optimizer: OptimizerSchema,
    sparsity: SparsitySchema.default({ method: 'dense', sparsity: 0, distribution: 'erk' }),
    run: RunSchema,
  })
  .strict()
  .refine((c) => (c.model.type === 'llama') === (c.data.type === 'text'), { message: 'a llama model trains on text data, and text data needs a llama model', path: ['model', 'type'] })
  .refine((c) => c.model.type !== 'llama' || c.run.seqLen <= c.model.maxPositions, { message: 'run.seqLen exceeds model.maxPositions', path: ['run', 'seqLen'] })
  .refine((c) => c.optimizer.schedule.type !== 'warmup-cosine' || c.optimizer.schedule.warmupSteps < c.run.steps, {
    message: 'warmupSteps must be below run.steps',
    path: ['optimizer', 'schedule', 'warmupSteps'],
  });

export type TrainingConfig = z.infer<typeof TrainingConfigSchema>;

/**
 * Data paths made absolute against `baseDir` (the config file's folder), so that a config reads
 * its files wherever it is run from, and a resumed run finds them from its stored copy.
 */
export function resolveConfigPaths(config: TrainingConfig, baseDir: string, resolvePath: (base: string, path: string) => string): TrainingConfig {
  const at = (path: string) => resolvePath(baseDir, path);
  const { data } = config;
  switch (data.type) {
    case 'text':
      return { ...config, data: { ...data, path: at(data.path), tokenizer: data.tokenizer === 'bytes' ? 'bytes' : at(data.tokenizer) } };
    case 'idx':
      return { ...config, data: { ...data, trainImages: at(data.trainImages), trainLabels: at(data.trainLabels), testImages: at(data.testImages), testLabels: at(data.testLabels) } };
    case 'cifar10':
      return { ...config, data: { ...data, train: data.train.map(at), test: data.test.map(at) } };
    default:
      return config;
  }
}

/** A configuration from JSON or YAML text, or an ArgumentError listing every problem by field. */
export function parseTrainingConfig(text: string, source: string): TrainingConfig {
  return validateTrainingConfig(parseConfigText(text, source), source);
}

export function validateTrainingConfig(raw: unknown, source: string): TrainingConfig {
  return validateConfig(TrainingConfigSchema, raw, source, 'training config');
}
