/** `sparsekit bench <suite> [--quick] [--json FILE]`: benchmarks, as tables and as JSON records. */
import { availableParallelism, cpus } from 'node:os';
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { checkKernelBars } from '../bench/kernel-bars.js';
import { FULL_KERNEL_SUITE, kernelCaseCount, type KernelRecord, QUICK_KERNEL_SUITE, runKernelSuite } from '../bench/kernels.js';
import { onnxRuntimePeer } from '../bench/node/ort-peer.js';
import { ArgumentError } from '../core/errors.js';
import { writeFileAtomic } from '../io/node/atomic-file.js';
import { formatBytes, percent, ratio, table } from './format.js';
import { progressBar } from './progress.js';

export const BENCH_SUITES = ['kernels'] as const;

export interface BenchOptions {
  quick?: boolean;
  json?: string;
  threads?: number;
}

export async function benchCommand(suite: string, options: BenchOptions): Promise<void> {
  if (!(BENCH_SUITES as readonly string[]).includes(suite)) {
    throw new ArgumentError(`unknown benchmark suite '${suite}'; suites: ${BENCH_SUITES.join(', ')}`);
  }
  await benchKernels(options);
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
  process.stdout.write(`\n${table(['bar', 'measured', 'needed', ''], bars.map((b) => [b.bar, ratio(b.value), `>= ${b.threshold}`, b.pass ? 'pass' : 'FAIL']))}\n`);
  if (options.json) {
    const meta = { suite: 'kernels', quick: !!options.quick, threads, simd: backend.simd, cpu: cpus()[0]?.model ?? null, cores: availableParallelism(), node: process.version, date: new Date().toISOString() };
    await writeFileAtomic(options.json, `${JSON.stringify({ records, bars, meta }, null, 2)}\n`);
    process.stderr.write(`wrote ${options.json}\n`);
  }
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
