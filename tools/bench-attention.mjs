// Times CPU attention, the SIMD kernel (wasm/attention.ts) against the TypeScript reference, on
// Llama-like shapes: 32 query heads, 8 KV heads, head dim 128. By hand, never in the tests:
//   npm run build && node tools/bench-attention.mjs [--threads N] [--simd simd|relaxed] [--runs N]
// Prints medians, and the kernel's arithmetic rate and the rate at which it streams K and V rows.
import { parseArgs } from 'node:util';
import { CpuBackend } from '../dist/src/backends/cpu/cpu-backend.js';
import { nodePlatform } from '../dist/src/backends/cpu/node/platform.js';
import { attentionReference } from '../dist/src/backends/cpu/reference/attention.js';
import { measure } from '../dist/src/bench/timing.js';
import { attention, tensor } from '../dist/src/core/ops.js';
import { Random } from '../dist/src/core/random.js';

const { values: flags } = parseArgs({
  options: { threads: { type: 'string' }, simd: { type: 'string', default: 'auto' }, runs: { type: 'string', default: '7' } },
});
const runs = Number(flags.runs);
const cpu = await CpuBackend.create(nodePlatform, { simd: flags.simd, threads: flags.threads ? Number(flags.threads) : undefined });
const [heads, kvHeads, D] = [32, 8, 128];
const scale = 1 / Math.sqrt(D);

const CASES = [
  { name: 'decode, context 4096', T: 1, length: 4096 },
  { name: 'decode, context 32768', T: 1, length: 32768 },
  { name: 'prefill, T=512 over 512', T: 512, length: 512 },
];

function normal(n, seed) {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

console.log(`attention on ${cpu.pool.threads} thread(s), ${cpu.simd} SIMD; ${heads} heads, ${kvHeads} KV heads, D=${D}; medians`);
console.log('case                       kernel ms  reference ms  speed-up  kernel GFLOP/s  kernel K+V GB/s');
for (const { name, T, length } of CASES) {
  const queryStart = length - T;
  const q = normal(T * heads * D, 1);
  const k = normal(length * kvHeads * D, 2);
  const v = normal(length * kvHeads * D, 3);
  const [tq, tk, tv] = [[q, [T, heads, D]], [k, [length, kvHeads, D]], [v, [length, kvHeads, D]]].map(([d, s]) => tensor(d, s, 'f32', cpu));
  const options = { length, queryStart, scale };
  const kernel = await measure(() => attention(tq, tk, tv, options).dispose(), { warmupRuns: 3, minRuns: runs, minTimeMs: 500 });
  const out = new Float32Array(q.length);
  const selection = { length, queryStart, scale, positions: null, window: null };
  const shape = { queries: T, heads, kvHeads, headDim: D };
  const reference = await measure(() => attentionReference(q, k, v, shape, selection, out), { warmupRuns: 1, minRuns: Math.min(runs, 5), minTimeMs: 0 });
  let visible = 0; // (query row, position) pairs
  for (let t = 0; t < T; t++) visible += Math.min(length, queryStart + t + 1);
  // q.k and p * v: two multiply-adds per head, position and dimension. K and V rows are read once
  // per KV head (heads sharing one go together), so for decode this is the whole cache per call.
  const gflops = (4 * visible * heads * D) / (kernel.medianMs * 1e6);
  const gbPerS = (2 * visible * kvHeads * D * 4) / (kernel.medianMs * 1e6);
  const cells = [kernel.medianMs.toFixed(2), reference.medianMs.toFixed(1), `${(reference.medianMs / kernel.medianMs).toFixed(1)}x`, gflops.toFixed(1), gbPerS.toFixed(1)];
  console.log(`${name.padEnd(24)} ${cells.map((c, i) => c.padStart([10, 13, 9, 15, 16][i])).join(' ')}`);
  for (const t of [tq, tk, tv]) t.dispose();
}
cpu.dispose();
