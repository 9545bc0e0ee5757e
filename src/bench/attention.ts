/**
 * The sparse attention benchmark (issue "Dynamic sparse attention and KV-cache policies", part 3):
 * decode attention over a per-KV-head selection (Quest-style pages of 16, or single positions) at
 * long context against full attention, and block-sparse prefill (MInference-style masks) against
 * dense causal prefill. Llama-like heads. Bytes read are computed from what each kernel loads;
 * times are medians in this run, cases interleaved in rounds; the bandwidth a decode reaches is
 * set against a streaming read (a memory-bound GEMV over a matrix larger than the caches).
 */
import type { Backend } from '../core/backend.js';
import { attention, blockSparseAttention, matmul, tensor } from '../core/ops.js';
import { Random } from '../core/random.js';
import type { Tensor } from '../core/tensor.js';
import type { BarResult } from './kernel-bars.js';
import { measureRounds, type RoundsOptions } from './timing.js';
import { randomDense } from './weights.js';

export interface AttentionRecord {
  /** decode: one query row against a KV cache; prefill: a whole prompt. */
  mode: 'decode' | 'prefill';
  /** 'full' (every cached position), 'dense' (dense causal prefill), 'selected' or 'block-sparse'. */
  policy: string;
  /** What is kept: 'all', 'random pages of 16', 'random positions', 'sink + diagonal + random blocks'. */
  pattern: string;
  /** Fraction of the context (decode) or of the causal blocks (prefill) computed. */
  budget: number;
  /** Cached positions (decode) or prompt length (prefill). */
  context: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** K and V bytes the kernel loads per decode step (prefill: per prompt, per pass over the kept blocks), index lists included. */
  bytesReadPerStep: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
  runs: number;
  /** The full (decode) or dense (prefill) median / this median. */
  speedupVsFull: number;
  /** q.k and p.v multiply-adds x 2 per second, GFLOP/s. */
  gflops: number;
  /** bytesReadPerStep / median, GB/s. */
  readGBps: number;
  /** readGBps / the streaming read bandwidth measured in this run (decode only: prefill is compute-bound). */
  bandwidthFraction: number | null;
}

export interface AttentionSuiteOptions {
  readonly decode: { readonly context: number; readonly heads: number; readonly kvHeads: number; readonly headDim: number; readonly budget: number; readonly pageSize: number };
  readonly prefill: { readonly T: number; readonly heads: number; readonly kvHeads: number; readonly headDim: number; readonly block: number; readonly sparsity: number };
  readonly decodeTiming: RoundsOptions;
  readonly prefillTiming: RoundsOptions;
  readonly seed: number;
}

export const FULL_ATTENTION_SUITE: AttentionSuiteOptions = {
  decode: { context: 32768, heads: 32, kvHeads: 8, headDim: 128, budget: 1 / 16, pageSize: 16 },
  prefill: { T: 4096, heads: 32, kvHeads: 8, headDim: 128, block: 64, sparsity: 0.9 },
  decodeTiming: { rounds: 3, warmupRuns: 2, minRuns: 15, minTimeMs: 1500, maxRuns: 150 },
  prefillTiming: { rounds: 2, warmupRuns: 1, minRuns: 4, minTimeMs: 0, maxRuns: 8 },
  seed: 7,
};

export const QUICK_ATTENTION_SUITE: AttentionSuiteOptions = {
  ...FULL_ATTENTION_SUITE,
  prefill: { T: 2048, heads: 8, kvHeads: 2, headDim: 128, block: 64, sparsity: 0.9 },
  decodeTiming: { rounds: 2, warmupRuns: 2, minRuns: 8, minTimeMs: 400, maxRuns: 60 },
  prefillTiming: { rounds: 2, warmupRuns: 1, minRuns: 2, minTimeMs: 0, maxRuns: 4 },
};

/** `count` distinct ascending integers in [0, limit), uniformly (partial Fisher-Yates). */
function sampleSorted(limit: number, count: number, rng: Random): number[] {
  const order = Int32Array.from({ length: limit }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(limit - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Array.from(order.subarray(0, count)).sort((a, b) => a - b);
}

/** i32 [kvHeads, budgetTokens]: per KV head, random whole pages of `pageSize`, or random positions. */
function selection(context: number, kvHeads: number, budgetTokens: number, pageSize: number | null, rng: Random): Int32Array {
  const lists = new Int32Array(kvHeads * budgetTokens);
  for (let j = 0; j < kvHeads; j++) {
    const row = pageSize
      ? sampleSorted(context / pageSize, budgetTokens / pageSize, rng).flatMap((p) => Array.from({ length: pageSize }, (_, i) => p * pageSize + i))
      : sampleSorted(context, budgetTokens, rng);
    lists.set(row, j * budgetTokens);
  }
  return lists;
}

/**
 * u8 [heads, n, n] block mask over n = T / block blocks a side, keeping `keep` of the n(n+1)/2
 * causal blocks per head: the diagonal (every row sees itself), the first column (attention
 * sinks, the A-shape's vertical) and random blocks below the diagonal for the rest.
 */
function blockMask(heads: number, n: number, keep: number, rng: Random): Uint8Array {
  const mask = new Uint8Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    const base = h * n * n;
    const below: number[] = [];
    for (let qb = 0; qb < n; qb++) {
      mask[base + qb * n + qb] = 1;
      mask[base + qb * n] = 1;
      for (let kb = 1; kb < qb; kb++) below.push(qb * n + kb);
    }
    const fixed = 2 * n - 1;
    for (const i of sampleSorted(below.length, Math.max(0, keep - fixed), rng)) mask[base + below[i]] = 1;
  }
  return mask;
}

function record(
  base: Omit<AttentionRecord, 'medianMs' | 'minMs' | 'p90Ms' | 'runs' | 'speedupVsFull' | 'gflops' | 'readGBps' | 'bandwidthFraction'>,
  timing: { medianMs: number; minMs: number; p90Ms: number; runs: number },
  fullMs: number,
  flops: number,
  bandwidthGBps: number | null,
): AttentionRecord {
  const readGBps = base.bytesReadPerStep / (timing.medianMs * 1e6);
  return {
    ...base,
    ...timing,
    speedupVsFull: fullMs / timing.medianMs,
    gflops: flops / (timing.medianMs * 1e6),
    readGBps,
    bandwidthFraction: bandwidthGBps ? readGBps / bandwidthGBps : null,
  };
}

/**
 * Streaming read bandwidth, GB/s: y = x W^T with W a 128 MiB f32 matrix, batch 1 (a GEMV reads
 * each weight once with two flops per 4 bytes, so it runs at the memory's pace on all threads).
 */
export async function measureReadBandwidth(backend: Backend, timing: RoundsOptions): Promise<number> {
  const [rows, cols] = [8192, 4096];
  const w = tensor(randomDense(rows, cols, 1), [rows, cols], 'f32', backend);
  const x = tensor(randomDense(1, cols, 2), [1, cols], 'f32', backend);
  const [t] = await measureRounds([() => matmul(x, w, { transposeB: true }).dispose()], timing);
  w.dispose();
  x.dispose();
  return (rows * cols * 4) / (t.medianMs * 1e6);
}

async function decodeRecords(backend: Backend, options: AttentionSuiteOptions, bandwidthGBps: number, onCase: (m: string) => void): Promise<AttentionRecord[]> {
  const { context, heads, kvHeads, headDim: D, budget, pageSize } = options.decode;
  const rng = new Random(options.seed);
  const budgetTokens = Math.round((context * budget) / pageSize) * pageSize;
  onCase(`decode: cache of ${context} positions x ${kvHeads} KV heads x ${D} (K and V ${((2 * context * kvHeads * D * 4) / 2 ** 20).toFixed(0)} MiB), ${budgetTokens} kept per KV head`);
  const k = tensor(randomDense(context, kvHeads * D, options.seed + 1), [context, kvHeads, D], 'f32', backend);
  const v = tensor(randomDense(context, kvHeads * D, options.seed + 2), [context, kvHeads, D], 'f32', backend);
  const q = tensor(randomDense(1, heads * D, options.seed + 3), [1, heads, D], 'f32', backend);
  const cases: { policy: string; pattern: string; lists: Tensor | null }[] = [
    { policy: 'full', pattern: 'all', lists: null },
    { policy: 'selected', pattern: `random pages of ${pageSize}`, lists: tensor(selection(context, kvHeads, budgetTokens, pageSize, rng), [kvHeads, budgetTokens], 'i32', backend) },
    { policy: 'selected', pattern: 'random positions', lists: tensor(selection(context, kvHeads, budgetTokens, null, rng), [kvHeads, budgetTokens], 'i32', backend) },
  ];
  const step = (lists: Tensor | null) => () =>
    attention(q, k, v, { length: context, queryStart: context - 1, scale: 1 / Math.sqrt(D), positionsPerKvHead: lists ?? undefined }).dispose();
  const timings = await measureRounds(cases.map((c) => step(c.lists)), options.decodeTiming);
  const records = cases.map((c, i) => {
    const kept = c.lists ? budgetTokens : context;
    const bytesReadPerStep = 2 * kept * kvHeads * D * 4 + (c.lists ? kvHeads * budgetTokens * 4 : 0);
    const base = { mode: 'decode' as const, policy: c.policy, pattern: c.pattern, budget: kept / context, context, heads, kvHeads, headDim: D, bytesReadPerStep };
    return record(base, timings[i], timings[0].medianMs, 4 * heads * kept * D, bandwidthGBps);
  });
  for (const t of [q, k, v, ...cases.map((c) => c.lists)]) t?.dispose();
  return records;
}

async function prefillRecords(backend: Backend, options: AttentionSuiteOptions, onCase: (m: string) => void): Promise<AttentionRecord[]> {
  const { T, heads, kvHeads, headDim: D, block, sparsity } = options.prefill;
  const rng = new Random(options.seed + 10);
  const n = Math.ceil(T / block);
  const causalBlocks = (n * (n + 1)) / 2;
  const keep = Math.round((1 - sparsity) * causalBlocks);
  onCase(`prefill: ${T} tokens, ${heads} heads / ${kvHeads} KV heads x ${D}, blocks ${block}x${block}, ${keep} of ${causalBlocks} causal blocks kept per head`);
  const q = tensor(randomDense(T, heads * D, options.seed + 4), [T, heads, D], 'f32', backend);
  const k = tensor(randomDense(T, kvHeads * D, options.seed + 5), [T, kvHeads, D], 'f32', backend);
  const v = tensor(randomDense(T, kvHeads * D, options.seed + 6), [T, kvHeads, D], 'f32', backend);
  const sparseMask = tensor(blockMask(heads, n, keep, rng), [heads, n, n], 'u8', backend);
  const allMask = tensor(new Uint8Array(heads * n * n).fill(1), [heads, n, n], 'u8', backend);
  const scale = 1 / Math.sqrt(D);
  const blockOptions = { blockQ: block, blockK: block, scale, causal: true };
  const timings = await measureRounds(
    [
      () => attention(q, k, v, { length: T, queryStart: 0, scale }).dispose(),
      () => blockSparseAttention(q, k, v, allMask, blockOptions).dispose(),
      () => blockSparseAttention(q, k, v, sparseMask, blockOptions).dispose(),
    ],
    options.prefillTiming,
  );
  // Visible (query, key) pairs: all causal ones, or per kept block its causal part.
  const densePairs = (T * (T + 1)) / 2;
  const sparsePairs = keep * block * block - n * ((block * (block - 1)) / 2);
  const kvBytesPerKey = 2 * D * 4;
  const shape = { context: T, heads, kvHeads, headDim: D };
  const rows: [string, string, number, number, number][] = [
    // The dense kernel loads every visible K and V row once per query row and KV head.
    ['dense', 'all', 1, densePairs * kvHeads * kvBytesPerKey, densePairs],
    ['block-sparse', 'all causal blocks', 1, causalBlocks * heads * block * kvBytesPerKey, densePairs],
    ['block-sparse', 'sink + diagonal + random blocks', keep / causalBlocks, keep * heads * block * kvBytesPerKey, sparsePairs],
  ];
  const records = rows.map(([policy, pattern, budget, bytesReadPerStep, pairs], i) =>
    record({ mode: 'prefill', policy, pattern, budget, ...shape, bytesReadPerStep }, timings[i], timings[0].medianMs, 4 * heads * pairs * D, null),
  );
  for (const t of [q, k, v, sparseMask, allMask]) t.dispose();
  return records;
}

export interface AttentionSuiteResult {
  readonly records: AttentionRecord[];
  readonly readBandwidthGBps: number;
}

/** Runs the suite; `onCase` reports what is being measured (for progress display). */
export async function runAttentionSuite(backend: Backend, options: AttentionSuiteOptions, onCase: (m: string) => void = () => {}): Promise<AttentionSuiteResult> {
  onCase('streaming read bandwidth (GEMV over 128 MiB)');
  const readBandwidthGBps = await measureReadBandwidth(backend, options.decodeTiming);
  const records = [...(await decodeRecords(backend, options, readBandwidthGBps, onCase)), ...(await prefillRecords(backend, options, onCase))];
  return { records, readBandwidthGBps };
}

/** The bars: at a 1/16 budget, <= 1/8 of full's bytes and >= 4x its speed; 90% block-sparse prefill >= 4x dense. */
export function checkAttentionBars(records: readonly AttentionRecord[]): BarResult[] {
  const full = records.find((r) => r.mode === 'decode' && r.policy === 'full');
  const bars: BarResult[] = [];
  for (const r of records.filter((x) => x.mode === 'decode' && x.policy === 'selected')) {
    const fullOverSelected = full ? full.bytesReadPerStep / r.bytesReadPerStep : 0;
    bars.push({ bar: `decode ${r.pattern}, budget ${r.budget.toFixed(4)}: full bytes / selected bytes`, value: fullOverSelected, threshold: 8, pass: fullOverSelected >= 8 });
    bars.push({ bar: `decode ${r.pattern}, budget ${r.budget.toFixed(4)}: vs full`, value: r.speedupVsFull, threshold: 4, pass: r.speedupVsFull >= 4 });
  }
  for (const r of records.filter((x) => x.mode === 'prefill' && x.budget < 1)) {
    bars.push({ bar: `prefill ${Math.round((1 - r.budget) * 100)}% block-sparse: vs dense`, value: r.speedupVsFull, threshold: 4, pass: r.speedupVsFull >= 4 });
  }
  return bars;
}
