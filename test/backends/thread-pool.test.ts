/**
 * The thread pool's job protocol under back-to-back jobs: every partition runs exactly once and
 * run() returns only after all have finished. A thread still looping after one job must never
 * take a partition of the next (a race that ran a partition twice, counted it twice and let
 * run() return while another was still writing; it surfaced as pruned-model perplexities that
 * changed from run to run).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/node/index.js';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { evenBounds, instantiateKernels, ThreadPool } from '../../src/backends/cpu/thread-pool.js';
import { KERNEL_NAMES } from '../../src/backends/cpu/kernels.js';
import { nodePlatform } from '../../src/backends/cpu/node/platform.js';

let cpu: CpuBackend;
before(async () => {
  cpu = await createCpuBackend({ threads: 2 });
});
after(() => cpu.dispose());

describe('thread pool', () => {
  it('finishes every partition before run() returns when a short job is followed at once by a longer one', () => {
    const n = 256;
    const shortRows = 2;
    const longRows = 64;
    const x = cpu.heap.alloc(longRows * n * 4);
    const small = cpu.heap.alloc(shortRows * n * 4);
    const y = cpu.heap.alloc(longRows * n * 4);
    try {
      cpu.heap.view('f32', x, longRows * n).fill(0);
      const out = cpu.heap.view('f32', y, longRows * n);
      let unfinished = 0;
      for (let job = 0; job < 4000 && unfinished === 0; job++) {
        out.fill(NaN);
        // Two partitions of one row each, then straight away eight of eight rows.
        cpu.pool.run('softmax_rows', [x, small, n, 0], evenBounds(shortRows, 2));
        cpu.pool.run('softmax_rows', [x, y, n, 0], evenBounds(longRows, 8));
        // softmax of a zero row is 1/n everywhere; a row not (yet) written still holds NaN.
        for (let r = 0; r < longRows; r++) if (!(out[r * n + n - 1] === 1 / n)) unfinished++;
      }
      assert.equal(unfinished, 0, 'rows unfinished when run() returned');
    } finally {
      for (const p of [x, small, y]) cpu.heap.free(p);
    }
  });
});

describe('thread pool sleepers', () => {
  it('wakes a caller that fell asleep while another thread ran a long partition', { timeout: 120_000 }, () => {
    // Two partitions: 100 rows (about a millisecond), which the caller takes first, then rows enough
    // for tens of ms, which the worker takes meanwhile; the caller polls for 5 ms, sleeps, and the
    // worker must wake it.
    const n = 4096;
    const rows = 2000;
    const x = cpu.heap.alloc(rows * n * 4);
    const y = cpu.heap.alloc(rows * n * 4);
    try {
      cpu.heap.view('f32', x, rows * n).fill(0);
      const out = cpu.heap.view('f32', y, rows * n);
      for (let attempt = 0; attempt < 8; attempt++) {
        out.fill(NaN);
        cpu.pool.run('softmax_rows', [x, y, n, 0], [0, 100, rows]);
        assert.equal(out[0], 1 / n);
        assert.equal(out[rows * n - 1], 1 / n);
      }
    } finally {
      cpu.heap.free(x);
      cpu.heap.free(y);
    }
  });
});

describe('thread pool failures', () => {
  it('reports a kernel that traps on any thread, and runs the next job whole', () => {
    // Far past the end of the memory: every partition's first access traps, on the caller and the worker alike.
    const beyond = 0xfff00000;
    assert.throws(() => cpu.pool.run('silu_f32', [beyond, beyond], evenBounds(4096, 8)), /kernel 'silu_f32' trapped/);
    const n = 4096;
    const x = cpu.heap.alloc(n * 4);
    const y = cpu.heap.alloc(n * 4);
    try {
      cpu.heap.view('f32', x, n).fill(0);
      cpu.heap.view('f32', y, n).fill(NaN);
      cpu.pool.run('silu_f32', [x, y], evenBounds(n, 8));
      assert.ok(cpu.heap.view('f32', y, n).every((v) => v === 0), 'silu(0) = 0 everywhere after the failed job');
    } finally {
      cpu.heap.free(x);
      cpu.heap.free(y);
    }
  });
});

describe('thread pool kernel numbers', () => {
  it('match the partition loop of the kernels module (wasm/jobs.ts), and a list in another order is refused', async () => {
    const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536 });
    const exports = await instantiateKernels(await nodePlatform.loadKernels('simd', false), memory);
    const controlOffset = Math.ceil((exports.static_data_end() as number) / 64) * 64;
    assert.doesNotThrow(() => new ThreadPool(memory, controlOffset, exports, KERNEL_NAMES, [], true));
    const swapped = [...KERNEL_NAMES];
    [swapped[5], swapped[6]] = [swapped[6], swapped[5]];
    assert.throws(() => new ThreadPool(memory, controlOffset, exports, swapped, [], true), /numbers kernel 5 as 'csr_spmm_u16', the thread pool as 'csr_spmm_i32'/);
    assert.throws(() => new ThreadPool(memory, controlOffset, exports, KERNEL_NAMES.slice(0, -1), [], true), /numbers kernel 26 as 'bitmap_spmm', the thread pool as 'null'/);
  });
});
