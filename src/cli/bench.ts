/** `sparsekit bench <suite> [--quick] [--json FILE]`: benchmarks, as tables and as JSON records. */
import { availableParallelism, cpus } from 'node:os';
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { checkDecodeBars } from '../bench/decode-bars.js';
import { countParameters, FULL_DECODE_SUITE, QUICK_DECODE_SUITE, runDecodeSuite } from '../bench/decode.js';
import { type BarResult, checkKernelBars } from '../bench/kernel-bars.js';
import { FULL_KERNEL_SUITE, kernelCaseCount, type KernelRecord, QUICK_KERNEL_SUITE, runKernelSuite } from '../bench/kernels.js';
import { onnxRuntimePeer } from '../bench/node/ort-peer.js';
import { ArgumentError } from '../core/errors.js';
import { writeFileAtomic } from '../io/node/atomic-file.js';
import { formatBytes, percent, ratio, table } from './format.js';
import { progressBar } from './progress.js';

export const BENCH_SUITES = ['kernels', 'decode'] as const;

export interface BenchOptions {
  quick?: boolean;
  json?: string;
  threads?: number;
}

export async function benchCommand(suite: string, options: BenchOptions): Promise<void> {
  if (!(BENCH_SUITES as readonly string[]).includes(suite)) {
    throw new ArgumentError(`unknown benchmark suite '${suite}'; suites: ${BENCH_SUITES.join(', ')}`);
  }
  if (suite === 'decode') await benchDecode(options);
  else await benchKernels(options);
}

function environment(threads: number, simd: string): Record<string, unknown> {
  return { threads, simd, cpu: cpus()[0]?.model ?? null, cores: availableParallelism(), node: process.version, date: new Date().toISOString() };
}

async function writeJson(path: string | undefined, value: unknown): Promise<void> {
  if (!path) return;
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
  process.stderr.write(`wrote ${path}\n`);
}

function renderBars(bars: readonly BarResult[]): string {
  return `${table(['bar', 'measured', 'needed', ''], bars.map((b) => [b.bar, ratio(b.value), `>= ${b.threshold}`, b.pass ? 'pass' : 'FAIL']))}\n`;
}

async function benchDecode(options: BenchOptions): Promise<void> {
  const backend = await createCpuBackend({ threads: options.threads });
  const suite = options.quick ? QUICK_DECODE_SUITE : FULL_DECODE_SUITE;
  process.stderr.write(
    `decode: a random ${(countParameters(suite.config) / 1e6).toFixed(1)}M-parameter Llama, prompt ${suite.promptTokens} tokens, ` +
      `${suite.newTokens} new tokens, ${suite.rounds} rounds; ${backend.pool.threads} threads, WebAssembly ${backend.simd}\n`,
  );
  const records = await runDecodeSuite(backend, suite, (m) => process.stderr.write(`  ${m}\n`));
  backend.dispose();
  const head = ['format', 'sparsity', 'prefill tok/s', 'decode tok/s', 'ms/token', 'vs dense', 'weights', 'KV cache'];
  const rows = records.map((r) => [
    r.pattern ? `${r.format} ${r.pattern}` : r.format,
    percent(r.sparsity, 0),
    r.prefillTokensPerS.toFixed(1),
    r.decodeTokensPerS.toFixed(2),
    r.decodeMsPerToken.toFixed(2),
    ratio(r.speedupVsDense),
    formatBytes(r.weightBytes),
    formatBytes(r.kvCacheBytes),
  ]);
  const bars = checkDecodeBars(records);
  process.stdout.write(`${table(head, rows, head.map((_, i) => i >= 1))}\n\n${renderBars(bars)}`);
  await writeJson(options.json, { records, bars, meta: { suite: 'decode', quick: !!options.quick, ...environment(backend.pool.threads, backend.simd) } });
}

async function benchKernels(options: BenchOptions): Promise<void> {
  const backend = await createCpuBackend({ threads: options.threads });
  const threads = backend.pool.threads;
  const suite = options.quick ? QUICK_KERNEL_SUITE : FULL_KERNEL_SUITE;
  const peer = onnxRuntimePeer(threads);
  process.stderr.write(
    `kernels: ${threads} threads, WebAssembly ${backend.simd === 'relaxed' ? 'relaxed SIMD (FMA)' : 'SIMD'}; peer: ${peer.name}; ${cpus()[0]?.model ?? 'unknown CPU'}\n`,
  );
  const bar = progressBar('kernels', kernelCaseCount(suite));
  let done = 0;
  const records = await runKernelSuite(backend, peer, suite, (r) => bar.update(++done, { detail: `${r.rows}x${r.cols} b${r.batch} ${r.format}` }));
  bar.stop();
  backend.dispose();
  const bars = checkKernelBars(records);
  process.stdout.write(renderKernelRecords(records));
  process.stdout.write(`\n${renderBars(bars)}`);
  await writeJson(options.json, { records, bars, meta: { suite: 'kernels', quick: !!options.quick, ...environment(threads, backend.simd) } });
}

export function renderKernelRecords(records: readonly KernelRecord[]): string {
  const head = ['shape', 'batch', 'format', 'sparsity', 'median ms', 'vs dense', 'vs ORT', 'GFLOP/s', 'weight GB/s', 'bytes', 'rel err'];
  const rows = records.map((r) => [
    `${r.rows}x${r.cols}`,
    r.batch,
    r.pattern ? `${r.format} ${r.pattern}` : r.format,
    percent(r.sparsity, 0),
    r.medianMs.toFixed(3),
    ratio(r.speedupVsDense),
    ratio(r.speedupVsOrt),
    r.gflops.toFixed(1),
    r.weightGBps.toFixed(1),
    formatBytes(r.weightBytes),
    r.maxRelError === null ? '' : r.maxRelError.toExponential(1),
  ]);
  return `${table(head, rows, head.map((_, i) => i >= 3))}\n`;
}
