/**
 * The CPU attention kernel (wasm/attention.ts) against the plain reference (reference/attention.ts)
 * in both builds (baseline SIMD, relaxed SIMD where the engine has it) and with one and three
 * threads: prefill and decode after a prefix, MHA / GQA / MQA, head dims with and without a SIMD
 * tail, position subsets, sliding windows, rows with nothing visible, and large scores.
 * Error measure: norm-wise relative error (test/helpers/numeric.ts), bound 1e-5; rows with nothing
 * visible must be NaN exactly where the reference's are.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { attentionReference } from '../../src/backends/cpu/reference/attention.js';
import { attention, tensor } from '../../src/core/ops.js';
import { Random } from '../../src/core/random.js';
import { assertClose } from '../helpers/numeric.js';
import { randomArray } from '../helpers/random.js';
import { describeKernelBuilds } from '../helpers/kernel-builds.js';

const TOLERANCE = 1e-5;

interface Case {
  readonly what: string;
  readonly T: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly D: number;
  readonly length: number;
  readonly queryStart: number;
  /** Cache rows; those from `length` on hold NaN, which must never be read. Default length + 3. */
  readonly capacity?: number;
  readonly positions?: readonly number[];
  readonly window?: number;
  /** Multiplier of q.k; 1/sqrt(D) when absent. */
  readonly scale?: number;
}

/** Ascending positions in [0, limit), each kept with probability `density`. */
function randomPositions(limit: number, density: number, seed: number): number[] {
  const rng = new Random(seed);
  return Array.from({ length: limit }, (_, s) => s).filter(() => rng.uniform() < density);
}

const HEADS: readonly [string, number, number][] = [
  ['MHA', 4, 4],
  ['GQA', 8, 2],
  ['MQA', 4, 1],
];

function shapeCases(): Case[] {
  const cases: Case[] = [];
  const prefixes = [1, 40, 300, 1983];
  let i = 0;
  // 23 and 67: every SIMD block size of the kernel plus a scalar tail, below and above 64.
  for (const D of [3, 4, 23, 32, 64, 67, 80, 128]) {
    for (const [name, heads, kvHeads] of HEADS) {
      for (const T of [1, 5, 17]) {
        // Prefill from position 0, then decode / a chunk after a prefix (lengths up to 2000).
        cases.push({ what: `${name} T=${T} D=${D} prefill`, T, heads, kvHeads, D, length: T, queryStart: 0 });
        const prefix = prefixes[i++ % prefixes.length];
        cases.push({ what: `${name} T=${T} D=${D} after ${prefix}`, T, heads, kvHeads, D, length: prefix + T, queryStart: prefix });
      }
    }
  }
  return cases;
}

function selectionCases(): Case[] {
  const cases: Case[] = [];
  for (const [name, heads, kvHeads] of HEADS) {
    for (const D of [4, 80]) {
      const base = { heads, kvHeads, D };
      // Positions past the causal limit (and past length, into the NaN rows) are ignored.
      cases.push({ ...base, what: `${name} D=${D} decode, positions`, T: 1, length: 1500, queryStart: 1499, positions: randomPositions(1500, 0.2, D) });
      cases.push({ ...base, what: `${name} D=${D} chunk, positions beyond causal limit`, T: 17, length: 900, queryStart: 600, capacity: 950, positions: randomPositions(950, 0.3, D + 1) });
      cases.push({ ...base, what: `${name} D=${D} prefill, positions`, T: 17, length: 17, queryStart: 0, positions: [0, 3, 4, 9, 16] });
      cases.push({ ...base, what: `${name} D=${D} decode, window 64`, T: 1, length: 1000, queryStart: 999, window: 64 });
      cases.push({ ...base, what: `${name} D=${D} chunk, window 1`, T: 5, length: 205, queryStart: 200, window: 1 });
      cases.push({ ...base, what: `${name} D=${D} chunk, window 100 longer than the prefix`, T: 17, length: 77, queryStart: 60, window: 100 });
      cases.push({ ...base, what: `${name} D=${D} window and positions`, T: 17, length: 700, queryStart: 683, window: 300, positions: randomPositions(700, 0.5, D + 2) });
      // Nothing visible in some or all rows: NaN there.
      cases.push({ ...base, what: `${name} D=${D} length 0`, T: 5, length: 0, queryStart: 0 });
      cases.push({ ...base, what: `${name} D=${D} empty positions`, T: 1, length: 50, queryStart: 49, positions: [] });
      cases.push({ ...base, what: `${name} D=${D} positions visible to later rows only`, T: 17, length: 17, queryStart: 0, positions: [10, 12] });
      cases.push({ ...base, what: `${name} D=${D} window past the only positions`, T: 5, length: 400, queryStart: 395, window: 8, positions: [2, 100, 386] });
    }
  }
  // Beyond 32-bit integers: f64 arguments keep the visible positions exact.
  cases.push({ what: 'start and window beyond u32', T: 5, heads: 8, kvHeads: 2, D: 8, length: 100, queryStart: 5e9, window: 5e9 - 50 });
  cases.push({ what: 'window ending before the cache', T: 5, heads: 8, kvHeads: 2, D: 8, length: 100, queryStart: 5e9, window: 1000 });
  // Scores up to about 200 (exp overflows f32 past 88.7) need the max subtraction. Larger D would
  // add f32 rounding of the scores themselves (an ulp of 200 is 1.5e-5) that no kernel avoids.
  for (const D of [8, 16]) {
    cases.push({ what: `D=${D} scale 10`, T: 5, heads: 8, kvHeads: 2, D, length: 600, queryStart: 595, scale: 10 });
  }
  return cases;
}

interface Prepared {
  readonly c: Case;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly want: Float32Array;
}

/** Inputs and the reference output, computed once and shared by every variant. */
function prepare(c: Case, seed: number): Prepared {
  const capacity = c.capacity ?? c.length + 3;
  const q = randomArray(c.T * c.heads * c.D, seed);
  const k = randomArray(capacity * c.kvHeads * c.D, seed + 1);
  const v = randomArray(capacity * c.kvHeads * c.D, seed + 2);
  k.fill(NaN, c.length * c.kvHeads * c.D);
  v.fill(NaN, c.length * c.kvHeads * c.D);
  const want = new Float32Array(q.length);
  const selection = {
    length: c.length,
    queryStart: c.queryStart,
    scale: c.scale ?? 1 / Math.sqrt(c.D),
    positions: c.positions ? Int32Array.from(c.positions) : null,
    window: c.window ?? null,
  };
  attentionReference(q, k, v, { queries: c.T, heads: c.heads, kvHeads: c.kvHeads, headDim: c.D }, selection, want);
  return { c, q, k, v, want };
}

/** NaN exactly where the reference has NaN (rows with nothing visible), the rest within TOLERANCE. */
function assertAttentionClose(got: Float32Array, want: Float32Array, what: string): void {
  const g = Float32Array.from(got);
  const w = Float32Array.from(want);
  for (let i = 0; i < w.length; i++) {
    assert.equal(Number.isNaN(g[i]), Number.isNaN(w[i]), `${what}: element ${i} is ${g[i]}, the reference ${w[i]}`);
    if (Number.isNaN(w[i])) g[i] = w[i] = 0;
  }
  assertClose(g, w, TOLERANCE, what);
}

function run(cpu: CpuBackend, { c, q, k, v, want }: Prepared): void {
  const capacity = k.length / (c.kvHeads * c.D);
  const tq = tensor(q, [c.T, c.heads, c.D], 'f32', cpu);
  const tk = tensor(k, [capacity, c.kvHeads, c.D], 'f32', cpu);
  const tv = tensor(v, [capacity, c.kvHeads, c.D], 'f32', cpu);
  const positions = c.positions ? tensor(Int32Array.from(c.positions), [c.positions.length], 'i32', cpu) : undefined;
  const out = attention(tq, tk, tv, {
    length: c.length,
    queryStart: c.queryStart,
    scale: c.scale ?? 1 / Math.sqrt(c.D),
    positions,
    window: c.window,
  });
  assert.deepEqual(out.shape, [c.T, c.heads, c.D]);
  assertAttentionClose(out.readSync() as Float32Array, want, `${c.what} (length ${c.length}, start ${c.queryStart})`);
  for (const t of [tq, tk, tv, positions, out]) t?.dispose();
}

let shapes: Prepared[] | null = null;
let selections: Prepared[] | null = null;

describeKernelBuilds('CPU attention kernel', (cpu) => {
  it('matches the reference: T 1/5/17, prefill and after a prefix, MHA/GQA/MQA, D 3..128', () => {
    shapes ??= shapeCases().map((c, i) => prepare(c, 100 + 3 * i));
    for (const p of shapes) run(cpu(), p);
  });

  it('matches the reference: positions, windows, nothing visible, large scores', () => {
    selections ??= selectionCases().map((c, i) => prepare(c, 1000 + 3 * i));
    for (const p of selections) run(cpu(), p);
  });
});
