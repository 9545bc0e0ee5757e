/**
 * The CPU sparse attention kernels against their plain references (reference/sparse-attention.ts)
 * and against dense attention restricted to the same keys, in both builds and with one and three
 * threads: decode / chunks over a selection per KV head (padding -1, empty heads, windows), and
 * block-sparse prefill (odd T and D, unequal and odd block sizes, causal or not, empty rows).
 * Cache rows that a head did not select hold NaN, so a kernel that loads them fails.
 * Error measure: norm-wise relative error (test/helpers/numeric.ts), bound 1e-5.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { nodePlatform } from '../../src/backends/cpu/node/platform.js';
import { attentionPerKvHeadReference, blockSparseAttentionReference } from '../../src/backends/cpu/reference/sparse-attention.js';
import { attention, blockSparseAttention, tensor } from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import type { Tensor } from '../../src/core/tensor.js';
import { assertClose } from '../helpers/numeric.js';
import { randomArray } from '../helpers/random.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';

const TOLERANCE = 1e-5;

const HEADS: readonly [string, number, number][] = [
  ['MHA', 4, 4],
  ['GQA', 8, 2],
  ['MQA', 3, 1],
];

/** NaN exactly where `want` has NaN, the rest within TOLERANCE. */
function assertSame(got: Float32Array, want: Float32Array, what: string): void {
  const g = Float32Array.from(got);
  const w = Float32Array.from(want);
  for (let i = 0; i < w.length; i++) {
    assert.equal(Number.isNaN(g[i]), Number.isNaN(w[i]), `${what}: element ${i} is ${g[i]}, expected ${w[i]}`);
    if (Number.isNaN(w[i])) g[i] = w[i] = 0;
  }
  assertClose(g, w, TOLERANCE, what);
}

// ---------------------------------------------------------------- decode over per-KV-head selections

interface DecodeCase {
  readonly what: string;
  readonly T: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly D: number;
  readonly length: number;
  readonly queryStart: number;
  /** Per KV head: ascending positions (the padding is added to the longest). */
  readonly selected: readonly (readonly number[])[];
  readonly window?: number;
}

interface DecodeInputs {
  readonly c: DecodeCase;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  /** i32 [kvHeads, P], -1 padded. */
  readonly lists: Int32Array;
  readonly perHead: number;
  readonly want: Float32Array;
}

/** Random ascending positions in [0, limit), one density per KV head, some pages of 16 whole. */
function randomSelection(limit: number, kvHeads: number, seed: number): number[][] {
  const rng = new Random(seed);
  return Array.from({ length: kvHeads }, (_, j) => {
    const density = [0.05, 0.3, 0.12, 0.6][j % 4];
    const byPage = j % 2 === 1;
    return Array.from({ length: limit }, (_, s) => s).filter((s) => (byPage ? new Random(seed * 97 + j * 1000 + (s >> 4)).uniform() : rng.uniform()) < density);
  });
}

function decodeCases(): DecodeCase[] {
  const cases: DecodeCase[] = [];
  let seed = 1;
  for (const [name, heads, kvHeads] of HEADS) {
    for (const D of [3, 23, 64, 67, 128]) {
      cases.push({ what: `${name} D=${D} decode`, T: 1, heads, kvHeads, D, length: 1501, queryStart: 1500, selected: randomSelection(1501, kvHeads, seed++) });
      cases.push({ what: `${name} D=${D} chunk of 5`, T: 5, heads, kvHeads, D, length: 605, queryStart: 600, selected: randomSelection(605, kvHeads, seed++) });
    }
    const base = { heads, kvHeads, D: 16 };
    const empty = randomSelection(800, kvHeads, seed++).map((row, j) => (j === 0 ? [] : row));
    cases.push({ ...base, what: `${name} a KV head with an empty selection`, T: 1, length: 800, queryStart: 799, selected: empty });
    cases.push({ ...base, what: `${name} window 200`, T: 3, length: 900, queryStart: 897, window: 200, selected: randomSelection(900, kvHeads, seed++) });
    cases.push({ ...base, what: `${name} selections past the causal limit`, T: 7, length: 70, queryStart: 63, selected: randomSelection(70, kvHeads, seed++) });
  }
  return cases;
}

function prepareDecode(c: DecodeCase, seed: number): DecodeInputs {
  const { T, heads, kvHeads, D, length } = c;
  const perHead = Math.max(1, ...c.selected.map((r) => r.length));
  const lists = new Int32Array(kvHeads * perHead).fill(-1);
  c.selected.forEach((row, j) => lists.set(row, j * perHead));
  const q = randomArray(T * heads * D, seed);
  const k = randomArray((length + 2) * kvHeads * D, seed + 1);
  const v = randomArray((length + 2) * kvHeads * D, seed + 2);
  // Every (position, KV head) a head did not select holds NaN: loading it would poison the output.
  for (let j = 0; j < kvHeads; j++) {
    const kept = new Set(c.selected[j]);
    for (let s = 0; s < length + 2; s++) {
      if (kept.has(s) && s < length) continue;
      k.fill(NaN, (s * kvHeads + j) * D, (s * kvHeads + j + 1) * D);
      v.fill(NaN, (s * kvHeads + j) * D, (s * kvHeads + j + 1) * D);
    }
  }
  const want = new Float32Array(q.length);
  const selection = { length, queryStart: c.queryStart, scale: 1 / Math.sqrt(D), positionsPerKvHead: lists, perHead, window: c.window ?? null };
  attentionPerKvHeadReference(q, k, v, { queries: T, heads, kvHeads, headDim: D }, selection, want);
  return { c, q, k, v, lists, perHead, want };
}

function runDecode(cpu: CpuBackend, x: DecodeInputs): void {
  const { c } = x;
  const capacity = c.length + 2;
  const tq = tensor(x.q, [c.T, c.heads, c.D], 'f32', cpu);
  const tk = tensor(x.k, [capacity, c.kvHeads, c.D], 'f32', cpu);
  const tv = tensor(x.v, [capacity, c.kvHeads, c.D], 'f32', cpu);
  const lists = tensor(x.lists, [c.kvHeads, x.perHead], 'i32', cpu);
  const options = { length: c.length, queryStart: c.queryStart, scale: 1 / Math.sqrt(c.D), window: c.window };
  const out = attention(tq, tk, tv, { ...options, positionsPerKvHead: lists });
  const got = out.readSync() as Float32Array;
  assertSame(got, x.want, `${c.what}: kernel vs reference`);
  // Dense attention restricted to each KV head's positions (the one-list form of the op), for the
  // heads of that KV head.
  const group = c.heads / c.kvHeads;
  for (let j = 0; j < c.kvHeads; j++) {
    const positions = tensor(Int32Array.from(c.selected[j]), [c.selected[j].length], 'i32', cpu);
    const restricted = attention(tq, tk, tv, { ...options, positions }).readSync() as Float32Array;
    const pick = (a: Float32Array) => Float32Array.from({ length: c.T * group * c.D }, (_, i) => {
      const t = Math.floor(i / (group * c.D));
      return a[(t * c.heads + j * group) * c.D + (i % (group * c.D))];
    });
    assertSame(pick(got), pick(restricted), `${c.what}: KV head ${j} vs attention over its positions`);
    positions.dispose();
  }
  for (const t of [tq, tk, tv, lists, out]) t.dispose();
}

// ---------------------------------------------------------------- block-sparse prefill

interface BlockCase {
  readonly what: string;
  readonly T: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly D: number;
  readonly blockQ: number;
  readonly blockK: number;
  readonly causal: boolean;
  readonly density: number;
  /** Heads whose mask is all zero (their rows must come out as zeros). */
  readonly emptyHeads?: readonly number[];
}

function blockCases(): BlockCase[] {
  const cases: BlockCase[] = [];
  for (const [name, heads, kvHeads] of HEADS) {
    for (const D of [5, 32, 67, 128]) {
      cases.push({ what: `${name} D=${D} T=131 16x16 causal`, T: 131, heads, kvHeads, D, blockQ: 16, blockK: 16, causal: true, density: 0.4 });
      cases.push({ what: `${name} D=${D} T=101 8x16 causal`, T: 101, heads, kvHeads, D, blockQ: 8, blockK: 16, causal: true, density: 0.5 });
    }
    const base = { heads, kvHeads, D: 19 };
    cases.push({ ...base, what: `${name} T=77 16x5 causal`, T: 77, blockQ: 16, blockK: 5, causal: true, density: 0.3 });
    cases.push({ ...base, what: `${name} T=93 7x13 not causal`, T: 93, blockQ: 7, blockK: 13, causal: false, density: 0.3 });
    cases.push({ ...base, what: `${name} T=64 all blocks kept`, T: 64, blockQ: 16, blockK: 16, causal: true, density: 1 });
    cases.push({ ...base, what: `${name} T=50 a head with no blocks`, T: 50, blockQ: 8, blockK: 8, causal: true, density: 0.5, emptyHeads: [0] });
    cases.push({ ...base, what: `${name} T=1`, T: 1, blockQ: 4, blockK: 4, causal: true, density: 1 });
  }
  return cases;
}

interface BlockInputs {
  readonly c: BlockCase;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly blocks: Uint8Array;
  readonly want: Float32Array;
}

function prepareBlocks(c: BlockCase, seed: number): BlockInputs {
  const { T, heads, kvHeads, D, blockQ, blockK } = c;
  const qBlocks = Math.ceil(T / blockQ);
  const kBlocks = Math.ceil(T / blockK);
  const rng = new Random(seed);
  const blocks = Uint8Array.from({ length: heads * qBlocks * kBlocks }, () => (rng.uniform() < c.density ? 1 : 0));
  for (const h of c.emptyHeads ?? []) blocks.fill(0, h * qBlocks * kBlocks, (h + 1) * qBlocks * kBlocks);
  const q = randomArray(T * heads * D, seed + 1);
  const k = randomArray(T * kvHeads * D, seed + 2);
  const v = randomArray(T * kvHeads * D, seed + 3);
  // Key blocks no head of a KV head keeps (at any query block) hold NaN there: they must not be loaded.
  const group = heads / kvHeads;
  for (let j = 0; j < kvHeads; j++) {
    for (let kb = 0; kb < kBlocks; kb++) {
      let used = false;
      for (let h = j * group; h < (j + 1) * group; h++) for (let qb = 0; qb < qBlocks; qb++) used ||= blocks[(h * qBlocks + qb) * kBlocks + kb] === 1;
      if (used) continue;
      for (let s = kb * blockK; s < Math.min(T, (kb + 1) * blockK); s++) {
        k.fill(NaN, (s * kvHeads + j) * D, (s * kvHeads + j + 1) * D);
        v.fill(NaN, (s * kvHeads + j) * D, (s * kvHeads + j + 1) * D);
      }
    }
  }
  const want = new Float32Array(q.length);
  blockSparseAttentionReference(q, k, v, { queries: T, heads, kvHeads, headDim: D }, { blockQ, blockK, scale: 1 / Math.sqrt(D), causal: c.causal, blocks }, want);
  return { c, q, k, v, blocks, want };
}

function runBlocks(cpu: CpuBackend, x: BlockInputs): Float32Array {
  const { c } = x;
  const tq = tensor(x.q, [c.T, c.heads, c.D], 'f32', cpu);
  const tk = tensor(x.k, [c.T, c.kvHeads, c.D], 'f32', cpu);
  const tv = tensor(x.v, [c.T, c.kvHeads, c.D], 'f32', cpu);
  const mask = tensor(x.blocks, [c.heads, Math.ceil(c.T / c.blockQ), Math.ceil(c.T / c.blockK)], 'u8', cpu);
  const out = blockSparseAttention(tq, tk, tv, mask, { blockQ: c.blockQ, blockK: c.blockK, scale: 1 / Math.sqrt(c.D), causal: c.causal });
  assert.deepEqual(out.shape, [c.T, c.heads, c.D]);
  const got = out.readSync() as Float32Array;
  assertSame(got, x.want, `${c.what}: kernel vs reference`);
  for (const t of [tq, tk, tv, mask, out]) t.dispose();
  return got;
}

let decodeInputs: DecodeInputs[] | null = null;
let blockInputs: BlockInputs[] | null = null;

describeKernelBuilds('CPU sparse attention kernels', (cpu) => {
  it('per-KV-head selections match the reference and attention over each head positions', () => {
    decodeInputs ??= decodeCases().map((c, i) => prepareDecode(c, 10 + 3 * i));
    for (const x of decodeInputs) runDecode(cpu(), x);
  });

  it('block-sparse prefill matches the reference; skipped blocks are never loaded', () => {
    blockInputs ??= blockCases().map((c, i) => prepareBlocks(c, 5000 + 7 * i));
    for (const x of blockInputs) runBlocks(cpu(), x);
  });

  it('block-sparse prefill with every block kept equals dense causal attention', () => {
    const [T, heads, kvHeads, D] = [203, 8, 2, 67];
    const q = tensor(randomArray(T * heads * D, 1), [T, heads, D], 'f32', cpu());
    const k = tensor(randomArray(T * kvHeads * D, 2), [T, kvHeads, D], 'f32', cpu());
    const v = tensor(randomArray(T * kvHeads * D, 3), [T, kvHeads, D], 'f32', cpu());
    const mask = tensor(new Uint8Array(heads * 13 * 7).fill(1), [heads, 13, 7], 'u8', cpu());
    const sparse = blockSparseAttention(q, k, v, mask, { blockQ: 16, blockK: 32, scale: 0.3, causal: true });
    const dense = attention(q, k, v, { length: T, queryStart: 0, scale: 0.3 });
    assertSame(sparse.readSync() as Float32Array, dense.readSync() as Float32Array, 'all blocks vs attention');
    for (const t of [q, k, v, mask, sparse, dense]) t.dispose();
  });
});

describe('sparse attention arguments', () => {
  let cpu: CpuBackend;
  let q: Tensor;
  let k: Tensor;
  before(async () => {
    cpu = await CpuBackend.create(nodePlatform, { threads: 1 });
    q = tensor(randomArray(8 * 4 * 8, 1), [8, 4, 8], 'f32', cpu);
    k = tensor(randomArray(8 * 2 * 8, 2), [8, 2, 8], 'f32', cpu);
  });
  after(() => cpu.dispose());

  it('rejects positions together with positionsPerKvHead, and a selection of the wrong shape', () => {
    const positions = tensor(Int32Array.from([0, 1]), [2], 'i32', cpu);
    const perHead = tensor(Int32Array.from([0, 1, 2, -1]), [2, 2], 'i32', cpu);
    const wrong = tensor(Int32Array.from([0, 1, 2]), [3, 1], 'i32', cpu);
    const base = { length: 8, queryStart: 0, scale: 1 };
    assert.throws(() => attention(q, k, k, { ...base, positions, positionsPerKvHead: perHead }), /exclude each other/);
    assert.throws(() => attention(q, k, k, { ...base, positionsPerKvHead: wrong }), /must be \[kvHeads=2, P\]/);
  });

  it('rejects a block mask of the wrong shape and non-positive block sizes', () => {
    const mask = tensor(new Uint8Array(4 * 2 * 2).fill(1), [4, 2, 2], 'u8', cpu);
    assert.throws(() => blockSparseAttention(q, k, k, mask, { blockQ: 8, blockK: 4, scale: 1, causal: true }), /blocks must be \[4, 1, 2\]/);
    assert.throws(() => blockSparseAttention(q, k, k, mask, { blockQ: 0, blockK: 4, scale: 1, causal: true }), /blockQ 0 must be a positive integer/);
    const ok = blockSparseAttention(q, k, k, mask, { blockQ: 4, blockK: 4, scale: 1, causal: true });
    assert.deepEqual(ok.shape, [8, 4, 8]);
  });
});
