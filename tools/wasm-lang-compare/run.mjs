#!/usr/bin/env node
// Benchmark harness: AssemblyScript vs C (clang) WebAssembly SIMD kernels.
//
//   node tools/wasm-lang-compare/run.mjs              one measurement run
//   node tools/wasm-lang-compare/run.mjs --runs 3     3 separate node processes + spread summary
//
// Options: --reps N (timed calls per kernel and module, default 100, minimum 30)
//          --warmup N (untimed calls first, default 5)   --seed N (default 12345)
//          --json FILE (write raw results)   --liftoff (keep V8's default Liftoff->TurboFan
//          tiering instead of compiling everything with TurboFan up front)
//
// Every module is instantiated against ONE WebAssembly.Memory; inputs are generated once
// (seeded) into that memory and shared by all modules, so every module reads the same bytes
// at the same addresses. Timed calls are interleaved: every rep runs each module once, in a
// freshly shuffled (seeded) order, so slow drift of the machine and any effect of which module
// ran just before are spread over all modules equally.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD = join(HERE, 'build');

// ---------------------------------------------------------------- helpers
function median(a) { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2; }
function f(x, d = 2) { return x.toFixed(d); }

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { runs: 1, reps: 100, warmup: 5, seed: 12345, json: null, liftoff: false, child: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value after ${a}`);
      return v;
    };
    if (a === '--runs') o.runs = parseInt(next(), 10);
    else if (a === '--reps') o.reps = parseInt(next(), 10);
    else if (a === '--warmup') o.warmup = parseInt(next(), 10);
    else if (a === '--seed') o.seed = parseInt(next(), 10);
    else if (a === '--json') o.json = next();
    else if (a === '--liftoff') o.liftoff = true;
    else if (a === '--child') o.child = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.reps >= 30)) throw new Error('--reps must be >= 30');
  return o;
}
const opts = parseArgs(process.argv.slice(2));

const NODE_FLAGS = opts.liftoff ? [] : ['--no-liftoff'];
const passThrough = () => {
  const a = ['--reps', String(opts.reps), '--warmup', String(opts.warmup), '--seed', String(opts.seed)];
  if (opts.liftoff) a.push('--liftoff');
  return a;
};

// Re-exec so that V8 flags are in force from process start (flags set later are unreliable).
if (!opts.child) {
  const self = fileURLToPath(import.meta.url);
  if (opts.runs === 1) {
    const args = [...NODE_FLAGS, self, '--child', ...passThrough()];
    if (opts.json) args.push('--json', opts.json);
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wasm-lang-compare-'));
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    const file = join(dir, `run${i}.json`);
    console.log(`\n=== process ${i + 1}/${opts.runs}: node ${[...NODE_FLAGS, 'run.mjs', '--child', ...passThrough()].join(' ')}`);
    const r = spawnSync(process.execPath, [...NODE_FLAGS, self, '--child', ...passThrough(), '--json', file], { stdio: 'inherit' });
    if (r.status !== 0) { rmSync(dir, { recursive: true, force: true }); process.exit(r.status ?? 1); }
    runs.push(JSON.parse(readFileSync(file, 'utf8')));
  }
  rmSync(dir, { recursive: true, force: true });
  const summary = summarize(runs);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ runs, summary }, null, 2));
  process.exit(0);
}

// ---------------------------------------------------------------- modules
const MODULES = [
  { id: 'as_simd', label: 'AS SIMD (hand)', file: 'as_simd.wasm' },
  { id: 'c_simd', label: 'C SIMD (hand)', file: 'c_simd.wasm' },
  { id: 'c_scalar', label: 'C scalar autovec', file: 'c_scalar.wasm' },
  { id: 'c_scalar_fastmath', label: 'C scalar autovec -ffast-math (info)', file: 'c_scalar_fastmath.wasm' },
  { id: 'as_simd_noimm', label: 'AS SIMD, no immOffset (info)', file: 'as_simd_noimm.wasm' },
];

// Size of each section of a wasm binary (to report the code section, not custom sections).
function wasmSections(buf) {
  let p = 8;
  const out = { total: buf.length, code: 0, custom: 0 };
  const leb = () => {
    let r = 0, s = 0, b;
    do { b = buf[p++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80);
    return r >>> 0;
  };
  while (p < buf.length) {
    const id = buf[p++];
    const size = leb();
    if (id === 10) out.code = size;
    if (id === 0) out.custom += size;
    p += size;
  }
  return out;
}

// ---------------------------------------------------------------- memory + inputs
const PAGE = 65536;
const BASE = 1 << 20; // leave the first MiB to the modules (C: stack below 64 KiB + 1 KiB; AS: nothing)
const MEM_BYTES = 96 << 20;
const memory = new WebAssembly.Memory({ initial: MEM_BYTES / PAGE, maximum: MEM_BYTES / PAGE });
let brk = BASE;
function alloc(bytes) {
  const p = brk;
  brk = (brk + bytes + 63) & ~63;
  if (brk > MEM_BYTES) throw new Error('out of benchmark memory');
  return p;
}
const f32 = (p, n) => new Float32Array(memory.buffer, p, n);
const u32 = (p, n) => new Uint32Array(memory.buffer, p, n);
const u16 = (p, n) => new Uint16Array(memory.buffer, p, n);

// mulberry32: small, seeded, reproducible.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(opts.seed);
const fillUniform = (a) => { for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1; return a; };

// 1. GEMV
const GV = { rows: 4096, cols: 4096 };
GV.W = alloc(GV.rows * GV.cols * 4); GV.x = alloc(GV.cols * 4); GV.y = alloc(GV.rows * 4);
fillUniform(f32(GV.W, GV.rows * GV.cols)); fillUniform(f32(GV.x, GV.cols));

// 2. GEMM micro-kernel on packed panels
const GM = { M: 128, N: 512, K: 1024 };
{
  const { M, N, K } = GM;
  const Alog = fillUniform(new Float32Array(M * K)); // row-major [M][K]
  const Blog = fillUniform(new Float32Array(K * N)); // row-major [K][N]
  GM.Alog = Alog; GM.Blog = Blog;
  GM.A = alloc(M * K * 4); GM.B = alloc(K * N * 4); GM.C = alloc(M * N * 4);
  const Ap = f32(GM.A, M * K), Bp = f32(GM.B, K * N);
  for (let mp = 0; mp < M; mp += 4) for (let k = 0; k < K; k++) for (let i = 0; i < 4; i++)
    Ap[(mp >> 2) * K * 4 + k * 4 + i] = Alog[(mp + i) * K + k];
  for (let np = 0; np < N; np += 8) for (let k = 0; k < K; k++) for (let j = 0; j < 8; j++)
    Bp[(np >> 3) * K * 8 + k * 8 + j] = Blog[k * N + np + j];
  GM.C0 = fillUniform(new Float32Array(M * N)); // C starts non-zero to check the "+="
}

// 3. CSR SpMV, 90% sparsity, each entry non-zero with probability 0.1 (uniform random)
const SP = { rows: 4096, cols: 4096, density: 0.1 };
{
  const rowPtr = new Uint32Array(SP.rows + 1);
  const cols = [], vals = [];
  for (let r = 0; r < SP.rows; r++) {
    for (let c = 0; c < SP.cols; c++) if (rand() < SP.density) { cols.push(c); vals.push(rand() * 2 - 1); }
    rowPtr[r + 1] = cols.length;
  }
  SP.nnz = cols.length;
  SP.rowPtr = alloc((SP.rows + 1) * 4); SP.colIdx = alloc(SP.nnz * 2); SP.vals = alloc(SP.nnz * 4);
  SP.x = alloc(SP.cols * 4); SP.y = alloc(SP.rows * 4);
  u32(SP.rowPtr, SP.rows + 1).set(rowPtr); u16(SP.colIdx, SP.nnz).set(cols); f32(SP.vals, SP.nnz).set(vals);
  fillUniform(f32(SP.x, SP.cols));
}

// ---------------------------------------------------------------- JS references (float64 accumulation)
function refGemv() {
  const { rows, cols } = GV, W = f32(GV.W, rows * cols), x = f32(GV.x, cols), y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) { let s = 0; const o = r * cols; for (let c = 0; c < cols; c++) s += W[o + c] * x[c]; y[r] = s; }
  return y;
}
function refGemm() {
  const { M, N, K, Alog, Blog, C0 } = GM, C = Float64Array.from(C0);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) {
    const a = Alog[i * K + k];
    for (let j = 0; j < N; j++) C[i * N + j] += a * Blog[k * N + j];
  }
  return C;
}
function refSpmv() {
  const rp = u32(SP.rowPtr, SP.rows + 1), ci = u16(SP.colIdx, SP.nnz), v = f32(SP.vals, SP.nnz), x = f32(SP.x, SP.cols);
  const y = new Float64Array(SP.rows);
  for (let r = 0; r < SP.rows; r++) { let s = 0; for (let j = rp[r]; j < rp[r + 1]; j++) s += v[j] * x[ci[j]]; y[r] = s; }
  return y;
}

// Norm-wise relative error max|out-ref| / max|ref| (element-wise relative error is meaningless
// for outputs that cancel to near zero).
function relErr(out, ref) {
  let e = 0, m = 0;
  for (let i = 0; i < ref.length; i++) { e = Math.max(e, Math.abs(out[i] - ref[i])); m = Math.max(m, Math.abs(ref[i])); }
  return e / m;
}

// ---------------------------------------------------------------- kernels
const KERNELS = [
  {
    id: 'gemv', title: `GEMV ${GV.rows}x${GV.cols} f32`,
    flops: 2 * GV.rows * GV.cols, bytes: 4 * (GV.rows * GV.cols + GV.cols + GV.rows),
    prepare: () => {},
    call: (ex) => ex.gemv(GV.W, GV.x, GV.y, GV.rows, GV.cols),
    output: () => f32(GV.y, GV.rows).slice(),
    ref: refGemv,
  },
  {
    id: 'gemm', title: `GEMM 4x8 micro-kernel M=${GM.M} N=${GM.N} K=${GM.K}`,
    flops: 2 * GM.M * GM.N * GM.K, bytes: 4 * (GM.M * GM.K + GM.K * GM.N + 2 * GM.M * GM.N),
    prepare: () => f32(GM.C, GM.M * GM.N).set(GM.C0), // C is read-modify-write: reset (untimed)
    call: (ex) => ex.gemm_4x8(GM.A, GM.B, GM.C, GM.M, GM.N, GM.K),
    output: () => f32(GM.C, GM.M * GM.N).slice(),
    ref: refGemm,
  },
  {
    id: 'spmv', title: `CSR SpMV ${SP.rows}x${SP.cols} 90% sparse`,
    flops: 2 * SP.nnz, bytes: 6 * SP.nnz + 4 * (SP.rows + 1) + 4 * SP.cols + 4 * SP.rows,
    prepare: () => {},
    call: (ex) => ex.spmv_csr(SP.rowPtr, SP.colIdx, SP.vals, SP.x, SP.y, SP.rows),
    output: () => f32(SP.y, SP.rows).slice(),
    ref: refSpmv,
  },
];
if (GV.rows % 4 || GV.cols % 4 || GM.M % 4 || GM.N % 8) throw new Error('kernel shape preconditions');

const env = { memory };
const mods = MODULES.map((m) => {
  const bytes = readFileSync(join(BUILD, m.file));
  const mod = new WebAssembly.Module(bytes);
  for (const imp of WebAssembly.Module.imports(mod))
    if (!(imp.module === 'env' && imp.name in env)) throw new Error(`${m.file}: unexpected import ${imp.module}.${imp.name}`);
  const inst = new WebAssembly.Instance(mod, { env });
  return { ...m, size: wasmSections(bytes), ex: inst.exports };
});

// ---------------------------------------------------------------- verify
const result = {
  env: { node: process.version, v8: process.versions.v8, execArgv: process.execArgv, reps: opts.reps, warmup: opts.warmup, seed: opts.seed, spmvNnz: SP.nnz },
  modules: mods.map((m) => ({ id: m.id, label: m.label, size: m.size })),
  kernels: [],
};
for (const k of KERNELS) {
  const ref = k.ref();
  const outs = {};
  const kr = { id: k.id, title: k.title, flops: k.flops, bytes: k.bytes, modules: {} };
  for (const m of mods) {
    k.prepare(); f32(GV.y, GV.rows).fill(NaN); f32(SP.y, SP.rows).fill(NaN);
    k.call(m.ex);
    outs[m.id] = k.output();
    const err = relErr(outs[m.id], ref);
    if (!(err <= 1e-5)) throw new Error(`${k.id}/${m.id}: relative error ${err} > 1e-5`);
    kr.modules[m.id] = { relErr: err };
  }
  const same = (p, q) => p.length === q.length && Buffer.from(p.buffer).equals(Buffer.from(q.buffer));
  kr.asEqualsCBitwise = same(outs.as_simd, outs.c_simd) && same(outs.as_simd, outs.as_simd_noimm);
  result.kernels.push(kr);
}

// ---------------------------------------------------------------- time
const orderRand = rng(opts.seed ^ 0x5eed); // fresh seeded shuffle of the module order for every rep
for (const [ki, k] of KERNELS.entries()) {
  const kr = result.kernels[ki];
  for (const m of mods) for (let i = 0; i < opts.warmup; i++) { k.prepare(); k.call(m.ex); }
  const times = Object.fromEntries(mods.map((m) => [m.id, []]));
  const order = mods.slice();
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let j = order.length - 1; j > 0; j--) { const i = Math.floor(orderRand() * (j + 1)); [order[i], order[j]] = [order[j], order[i]]; }
    for (const m of order) {
      k.prepare();
      const t0 = performance.now();
      k.call(m.ex);
      times[m.id].push(performance.now() - t0);
    }
  }
  for (const m of mods) {
    const t = times[m.id];
    const med = median(t);
    Object.assign(kr.modules[m.id], { medianMs: med, minMs: Math.min(...t), maxMs: Math.max(...t), gflops: k.flops / med / 1e6, gbps: k.bytes / med / 1e6, times: t });
  }
}

// ---------------------------------------------------------------- report
console.log(`node ${process.version} (V8 ${process.versions.v8}) flags: ${process.execArgv.join(' ') || '(none)'}; reps=${opts.reps} warmup=${opts.warmup} seed=${opts.seed}; SpMV nnz=${SP.nnz}`);
console.log('\nmodule sizes (bytes): file / code section');
for (const m of mods) console.log(`  ${m.label.padEnd(38)} ${String(m.size.total).padStart(6)} / ${String(m.size.code).padStart(6)}`);
for (const kr of result.kernels) {
  console.log(`\n${kr.title}   (AS SIMD, AS no-immOffset and C SIMD outputs bit-identical: ${kr.asEqualsCBitwise})`);
  console.log(`  ${'module'.padEnd(38)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'GB/s'.padStart(7)} ${'relErr'.padStart(9)}  t/t(AS)`);
  const asMed = kr.modules.as_simd.medianMs;
  for (const m of mods) {
    const r = kr.modules[m.id];
    console.log(`  ${m.label.padEnd(38)} ${f(r.medianMs, 3).padStart(10)} ${f(r.minMs, 3).padStart(8)} ${f(r.gflops).padStart(8)} ${f(r.gbps).padStart(7)} ${r.relErr.toExponential(1).padStart(9)}  ${f(r.medianMs / asMed, 3)}`);
  }
}
if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2));

// ---------------------------------------------------------------- multi-process summary
function summarize(runs) {
  const out = [];
  console.log(`\n=== summary over ${runs.length} processes (median of per-process medians; spread = (max-min)/median of the per-process medians)`);
  console.log(`  ${'kernel'.padEnd(6)} ${'module'.padEnd(38)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)} ${'spread'.padStart(7)} ${'GFLOP/s'.padStart(8)} ${'GB/s'.padStart(7)}  t/t(AS) per process`);
  for (const [ki, k0] of runs[0].kernels.entries()) {
    for (const m of runs[0].modules) {
      const meds = runs.map((r) => r.kernels[ki].modules[m.id].medianMs);
      const mins = runs.map((r) => r.kernels[ki].modules[m.id].minMs);
      const ratios = runs.map((r) => r.kernels[ki].modules[m.id].medianMs / r.kernels[ki].modules.as_simd.medianMs);
      const mm = median(meds);
      const row = {
        kernel: k0.id, module: m.id, medianMs: mm, minMs: Math.min(...mins), spread: (Math.max(...meds) - Math.min(...meds)) / mm,
        gflops: k0.flops / mm / 1e6, gbps: k0.bytes / mm / 1e6, ratioVsAs: median(ratios), ratiosVsAs: ratios,
      };
      out.push(row);
      console.log(`  ${k0.id.padEnd(6)} ${m.label.padEnd(38)} ${f(mm, 3).padStart(10)} ${f(row.minMs, 3).padStart(8)} ${(f(row.spread * 100, 1) + '%').padStart(7)} ${f(row.gflops).padStart(8)} ${f(row.gbps).padStart(7)}  ${ratios.map((x) => f(x, 3)).join(' ')}`);
    }
  }
  return out;
}
