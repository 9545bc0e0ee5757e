/**
 * Fixed-length language-modelling batches from a token stream: B windows of T + 1 tokens, the
 * first T the inputs and the last T the targets (each target is the token after its input).
 * Training samples window starts at random (seeded); evaluation walks the stream in order.
 */
import { ArgumentError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { DataError } from './data-error.js';

export interface TokenBatch {
  /** [batchSize, seqLen] row-major. */
  readonly inputs: Int32Array;
  /** [batchSize, seqLen]: targets[b, t] = the token after inputs[b, t]. */
  readonly targets: Int32Array;
  readonly batchSize: number;
  readonly seqLen: number;
  /** Position in the stream of each window's first token. */
  readonly starts: Int32Array;
}

export interface TokenWindowOptions {
  /** B, windows per batch. */
  readonly batchSize: number;
  /** T, input tokens per window (each window reads T + 1 tokens). */
  readonly seqLen: number;
  /** Names the stream in errors. Default "token stream". */
  readonly source?: string;
}

export interface TokenBatchSamplerOptions extends TokenWindowOptions {
  readonly seed: number;
}

/**
 * Training batches: each window starts at a position drawn uniformly from every start where
 * T + 1 tokens fit, independently per window (windows may overlap), as nanoGPT's get_batch
 * samples. The same ids and seed give the same batches. An Int32Array of ids is
 * kept, not copied: changing it afterwards changes later batches.
 */
export class TokenBatchSampler {
  readonly batchSize: number;
  readonly seqLen: number;
  private readonly ids: Int32Array;
  private readonly rng: Random;

  constructor(ids: ArrayLike<number>, options: TokenBatchSamplerOptions) {
    checkWindowOptions(options);
    this.ids = tokenIds(ids, options);
    requireOneWindow(this.ids.length, options);
    this.batchSize = options.batchSize;
    this.seqLen = options.seqLen;
    this.rng = new Random(options.seed);
  }

  /** The window sampler's random state, for training checkpoints. */
  randomState(): number[] {
    return this.rng.state();
  }

  restoreRandomState(state: readonly number[]): void {
    this.rng.setState(state);
  }

  next(): TokenBatch {
    // Starts 0 .. n - T - 1: the last one's window ends exactly at the stream's end.
    const startCount = this.ids.length - this.seqLen;
    const starts = Int32Array.from({ length: this.batchSize }, () => this.rng.int(startCount));
    return gatherWindows(this.ids, starts, this.seqLen);
  }
}

/**
 * Evaluation batches in stream order: windows start at 0, T, 2T ..., so their targets tile the
 * stream (every token but the first is a target exactly once) while consecutive windows share
 * one token, the last target of one being the first input of the next. Tokens after the last
 * whole window are left out (fewer than T); the last batch may hold fewer than B windows.
 */
export function sequentialTokenBatches(ids: ArrayLike<number>, options: TokenWindowOptions): Generator<TokenBatch> {
  // Checked here, not inside the generator, so bad input throws at the call rather than at the first next().
  checkWindowOptions(options);
  const stream = tokenIds(ids, options);
  requireOneWindow(stream.length, options);
  return windowsInOrder(stream, options.batchSize, options.seqLen);
}

function* windowsInOrder(stream: Int32Array, batchSize: number, seqLen: number): Generator<TokenBatch> {
  const windows = sequentialWindowCount(stream.length, seqLen);
  for (let first = 0; first < windows; first += batchSize) {
    const count = Math.min(batchSize, windows - first);
    const starts = Int32Array.from({ length: count }, (_, i) => (first + i) * seqLen);
    yield gatherWindows(stream, starts, seqLen);
  }
}

/** Windows sequentialTokenBatches makes of `tokens` tokens: floor((tokens - 1) / T). */
export function sequentialWindowCount(tokens: number, seqLen: number): number {
  return tokens < 1 ? 0 : Math.floor((tokens - 1) / seqLen);
}

function gatherWindows(ids: Int32Array, starts: Int32Array, seqLen: number): TokenBatch {
  const batchSize = starts.length;
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    inputs.set(ids.subarray(starts[b], starts[b] + seqLen), b * seqLen);
    targets.set(ids.subarray(starts[b] + 1, starts[b] + 1 + seqLen), b * seqLen);
  }
  return { inputs, targets, batchSize, seqLen, starts };
}

function checkWindowOptions(options: TokenWindowOptions): void {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new ArgumentError(`batchSize must be a positive integer, got ${options.batchSize}`);
  if (!Number.isInteger(options.seqLen) || options.seqLen < 1) throw new ArgumentError(`seqLen must be a positive integer, got ${options.seqLen}`);
}

function requireOneWindow(tokens: number, options: TokenWindowOptions): void {
  if (tokens < options.seqLen + 1) {
    throw new DataError(
      options.source ?? 'token stream',
      `shorter than one window: ${tokens} token(s), a window of seqLen ${options.seqLen} reads ${options.seqLen + 1}`,
    );
  }
}

/** The ids as an Int32Array, checked to be non-negative integers that fit one. */
function tokenIds(ids: ArrayLike<number>, options: TokenWindowOptions): Int32Array {
  if (ids instanceof Int32Array) {
    for (let i = 0; i < ids.length; i++) if (ids[i] < 0) throw badId(ids[i], i, options);
    return ids;
  }
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw badId(id, i, options);
    out[i] = id;
  }
  return out;
}

function badId(id: number, index: number, options: TokenWindowOptions): DataError {
  return new DataError(options.source ?? 'token stream', `token ${index} is ${id}; token ids are non-negative integers`);
}
