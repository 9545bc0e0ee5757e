// The thread pool's partition loop (thread-pool.ts), inside WebAssembly: each thread takes
// partitions of the current job by compare-and-swap on its ticket and runs the job's kernel on
// each, with no return to JavaScript between partitions. From JavaScript every partition cost a
// fresh argument array and a generic spread call into WebAssembly, about 0.5 us, more with cold
// caches after a kernel that streamed megabytes of weights; here it is a branch table. Measured
// in alternating runs: CSR 4096x4096 at 90%, batch 1, about 300 us a call, 1.4-2.5% faster.
import { gemm_f32 } from './gemm';
import { gemv_t_f32, gemv_n_f32 } from './gemv';
import { csr_spmv_staged, csr_spmv_i32, csr_spmm_u16, csr_spmm_i32 } from './csr';
import { quad_table_24, nm24_spmv, nm48_spmv, nm_spmv, nm_spmm } from './nm';
import { bsr_spmv, bsr_spmm } from './bsr';
import { pack_x_tiles16 } from './transpose';
import { softmax_rows } from './softmax';
import { attention_f32 } from './attention';
import { block_sparse_attention_f32 } from './sparse-attention';
import { csr_spmv_staged_group, bitmap_spmv_group, nm24_spmv_group, gemv_t_f32_group } from './linear-group';
import { query_key_logits_f32 } from './query-key-logits';
import { silu_f32 } from './activation';
import { bitmap_spmv, bitmap_spmm, bitmap_columns } from './bitmap';

// Byte offsets in the control block; the same layout as thread-pool.ts (Int32 slots x 4).
const TICKET: usize = 4; // (job & 0xffff) << 16 | partitions << 8 | next partition
const DONE: usize = 8; // partitions finished
const KERNEL: usize = 16; // index into KERNEL_NAMES (kernels.ts)
const CALLER_SLEEPING: usize = 36; // 1 while the caller sleeps on DONE (thread-pool.ts)
const BOUNDS: usize = 64; // partitions + 1 i32 bounds
const ARGS: usize = 1088; // the job's arguments, f64 each

/**
 * Takes partitions of job `job` (its number, & 0xffff) from the ticket at `ctrl` until none is
 * left, runs each, and counts it done; the thread that finishes the last one wakes the caller
 * if it sleeps on the done count. A trap inside a kernel leaves its partition taken but not
 * counted: the caller (thread-pool.ts) records the failure, counts it and calls again.
 */
export function take_partitions(ctrl: usize, job: i32, thread: i32): void {
  for (;;) {
    const ticket = atomic.load<i32>(ctrl + TICKET);
    if (<i32>(<u32>ticket >> 16) != job) return;
    const parts = (ticket >> 8) & 0xff;
    const p = ticket & 0xff;
    if (p >= parts) return;
    if (atomic.cmpxchg<i32>(ctrl + TICKET, ticket, ticket + 1) != ticket) continue;
    const bound = ctrl + BOUNDS + (<usize>p << 2);
    runKernel(load<i32>(ctrl + KERNEL), ctrl + ARGS, load<i32>(bound), load<i32>(bound, 4), thread);
    if (atomic.add<i32>(ctrl + DONE, 1) + 1 == parts && atomic.load<i32>(ctrl + CALLER_SLEEPING) != 0) atomic.notify(ctrl + DONE);
  }
}

// Argument i as the kernel's integer parameter: JavaScript's ToInt32 of the number, so offsets
// up to 4 GiB arrive as the same bits as when JavaScript called the kernel itself.
@inline function n(a: usize, i: i32): i32 {
  return <i32><i64>load<f64>(a + (<usize>i << 3));
}
@inline function u(a: usize, i: i32): usize {
  return <usize>n(a, i);
}
@inline function d(a: usize, i: i32): f64 {
  return load<f64>(a + (<usize>i << 3));
}

// One partition of kernel number `kernel` (KERNEL_NAMES in kernels.ts; kernel_name below).
function runKernel(kernel: i32, a: usize, b: i32, e: i32, t: i32): void {
  switch (kernel) {
    case 0: gemm_f32(u(a, 0), u(a, 1), u(a, 2), n(a, 3), n(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), u(a, 9), u(a, 10), u(a, 11), n(a, 12), u(a, 13), u(a, 14), b, e, t); return;
    case 1: gemv_t_f32(u(a, 0), u(a, 1), u(a, 2), n(a, 3), n(a, 4), n(a, 5), n(a, 6), u(a, 7), u(a, 8), u(a, 9), n(a, 10), b, e); return;
    case 2: gemv_n_f32(u(a, 0), u(a, 1), u(a, 2), n(a, 3), n(a, 4), n(a, 5), u(a, 6), u(a, 7), u(a, 8), n(a, 9), b, e); return;
    case 3: csr_spmv_staged(u(a, 0), u(a, 1), u(a, 2), u(a, 3), b, e, t); return;
    case 4: csr_spmv_i32(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), b, e); return;
    case 5: csr_spmm_u16(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), b, e); return;
    case 6: csr_spmm_i32(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), b, e); return;
    case 7: quad_table_24(u(a, 0), u(a, 1), n(a, 2), b, e); return;
    case 8: nm24_spmv(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), b, e); return;
    case 9: nm_spmv(u(a, 0), u(a, 1), u(a, 2), u(a, 3), n(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), n(a, 9), b, e); return;
    case 10: nm_spmm(u(a, 0), u(a, 1), u(a, 2), u(a, 3), n(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), n(a, 9), u(a, 10), u(a, 11), b, e, t); return;
    case 11: bsr_spmv(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), n(a, 9), b, e); return;
    case 12: bsr_spmm(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), n(a, 9), b, e); return;
    case 13: pack_x_tiles16(u(a, 0), u(a, 1), n(a, 2), n(a, 3), b, e); return;
    case 14: softmax_rows(u(a, 0), u(a, 1), n(a, 2), n(a, 3), b, e); return;
    case 15:
      attention_f32(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), n(a, 9), n(a, 10), d(a, 11), <f32>d(a, 12), d(a, 13), u(a, 14), n(a, 15), b, e, t);
      return;
    case 16:
      block_sparse_attention_f32(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), n(a, 9), n(a, 10), <f32>d(a, 11), n(a, 12), u(a, 13), b, e, t);
      return;
    case 17:
      csr_spmv_staged_group(u(a, 0), u(a, 1), u(a, 2), u(a, 3), n(a, 4), u(a, 5), u(a, 6), u(a, 7), u(a, 8), n(a, 9), u(a, 10), u(a, 11), u(a, 12), u(a, 13), n(a, 14), b, e, t);
      return;
    case 18:
      nm24_spmv_group(u(a, 0), u(a, 1), n(a, 2), u(a, 3), u(a, 4), u(a, 5), n(a, 6), u(a, 7), u(a, 8), u(a, 9), n(a, 10), u(a, 11), u(a, 12), u(a, 13), n(a, 14), b, e);
      return;
    case 19: gemv_t_f32_group(u(a, 0), n(a, 1), u(a, 2), u(a, 3), n(a, 4), u(a, 5), u(a, 6), n(a, 7), u(a, 8), u(a, 9), n(a, 10), b, e); return;
    case 20: query_key_logits_f32(u(a, 0), u(a, 1), u(a, 2), n(a, 3), n(a, 4), n(a, 5), n(a, 6), b, e); return;
    case 21: silu_f32(u(a, 0), u(a, 1), b, e); return;
    case 22: nm48_spmv(u(a, 0), u(a, 1), u(a, 2), u(a, 3), n(a, 4), b, e); return;
    case 23: bitmap_spmv(u(a, 0), u(a, 1), u(a, 2), u(a, 3), n(a, 4), b, e, t); return;
    case 24: bitmap_columns(u(a, 0), u(a, 1), u(a, 2), n(a, 3), n(a, 4), b, e); return;
    case 25:
      bitmap_spmv_group(n(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), u(a, 6), u(a, 7), u(a, 8), u(a, 9), n(a, 10), u(a, 11), u(a, 12), u(a, 13), u(a, 14), n(a, 15), b, e, t);
      return;
    case 26: bitmap_spmm(u(a, 0), u(a, 1), u(a, 2), u(a, 3), u(a, 4), n(a, 5), n(a, 6), n(a, 7), n(a, 8), u(a, 9), u(a, 10), b, e, t); return;
    default: unreachable();
  }
}

/**
 * The name of the kernel runKernel runs as number `kernel`, or null past the last: the test "the
 * pool's kernel numbers match" checks this list against KERNEL_NAMES (kernels.ts), which
 * JavaScript numbers jobs by. Same order as the cases above.
 */
export function kernel_name(kernel: i32): string | null {
  switch (kernel) {
    case 0: return 'gemm_f32';
    case 1: return 'gemv_t_f32';
    case 2: return 'gemv_n_f32';
    case 3: return 'csr_spmv_staged';
    case 4: return 'csr_spmv_i32';
    case 5: return 'csr_spmm_u16';
    case 6: return 'csr_spmm_i32';
    case 7: return 'quad_table_24';
    case 8: return 'nm24_spmv';
    case 9: return 'nm_spmv';
    case 10: return 'nm_spmm';
    case 11: return 'bsr_spmv';
    case 12: return 'bsr_spmm';
    case 13: return 'pack_x_tiles16';
    case 14: return 'softmax_rows';
    case 15: return 'attention_f32';
    case 16: return 'block_sparse_attention_f32';
    case 17: return 'csr_spmv_staged_group';
    case 18: return 'nm24_spmv_group';
    case 19: return 'gemv_t_f32_group';
    case 20: return 'query_key_logits_f32';
    case 21: return 'silu_f32';
    case 22: return 'nm48_spmv';
    case 23: return 'bitmap_spmv';
    case 24: return 'bitmap_columns';
    case 25: return 'bitmap_spmv_group';
    case 26: return 'bitmap_spmm';
    default: return null;
  }
}
