// Several Linear products that share one activation row (decode's q/k/v and gate/up), run as one
// job: the rows of up to three weights form one virtual row range [0, n0 + n1 + n2), and each
// partition [begin, end) of it is handed to the single-weight kernel piece by piece, so results
// are bitwise those of one call per weight. One job instead of three saves the JavaScript
// dispatch and a thread hand-off per weight, and partitions of equal cost span the weights: a
// decode step of the 100M benchmark model went from 8.22 to 7.69 ms at 90% CSR (2:4 -2%, dense
// -4%), grouped against ungrouped in alternating rounds.
// References: the single-weight kernels' references.
import { bitmap_spmv } from './bitmap';
import { csr_spmv_staged } from './csr';
import { gemvRows } from './gemv';
import { nm24_spmv } from './nm';

// Each kernel below cuts [begin, end) at the slots' boundaries s1 = n0, s2 = n0 + n1 and hands
// each piece to its slot's kernel in that slot's own row numbers; a piece may be empty.

// CSR weights with u16 column indices, x staged at X_STAGING (csr.ts); unused slots have n = 0.
export function csr_spmv_staged_group(
  p0: usize, c0: usize, v0: usize, y0: usize, n0: i32,
  p1: usize, c1: usize, v1: usize, y1: usize, n1: i32,
  p2: usize, c2: usize, v2: usize, y2: usize, n2: i32,
  begin: i32, end: i32, thread: i32,
): void {
  const s1 = n0, s2 = n0 + n1;
  if (begin < s1) csr_spmv_staged(p0, c0, v0, y0, begin, min(end, s1), thread);
  if (begin < s2 && end > s1) csr_spmv_staged(p1, c1, v1, y1, max(begin, s1) - s1, min(end, s2) - s1, thread);
  if (end > s2) csr_spmv_staged(p2, c2, v2, y2, max(begin, s2) - s2, min(end, s2 + n2) - s2, thread);
}

// Bitmap weights of one column count (maskBytes each), x staged at X_STAGING (bitmap.ts).
export function bitmap_spmv_group(
  maskBytes: i32,
  p0: usize, k0: usize, v0: usize, y0: usize, n0: i32,
  p1: usize, k1: usize, v1: usize, y1: usize, n1: i32,
  p2: usize, k2: usize, v2: usize, y2: usize, n2: i32,
  begin: i32, end: i32, thread: i32,
): void {
  const s1 = n0, s2 = n0 + n1;
  if (begin < s1) bitmap_spmv(p0, k0, v0, y0, maskBytes, begin, min(end, s1), thread);
  if (begin < s2 && end > s1) bitmap_spmv(p1, k1, v1, y1, maskBytes, max(begin, s1) - s1, min(end, s2) - s1, thread);
  if (end > s2) bitmap_spmv(p2, k2, v2, y2, maskBytes, max(begin, s2) - s2, min(end, s2 + n2) - s2, thread);
}

// 2:4 weights over one activation table (quad_table_24 of x, built once for all of them).
export function nm24_spmv_group(
  table: usize, x: usize, K: i32,
  v0: usize, m0: usize, y0: usize, n0: i32,
  v1: usize, m1: usize, y1: usize, n1: i32,
  v2: usize, m2: usize, y2: usize, n2: i32,
  begin: i32, end: i32,
): void {
  const s1 = n0, s2 = n0 + n1;
  if (begin < s1) nm24_spmv(v0, m0, table, x, y0, K, begin, min(end, s1));
  if (begin < s2 && end > s1) nm24_spmv(v1, m1, table, x, y1, K, max(begin, s1) - s1, min(end, s2) - s1);
  if (end > s2) nm24_spmv(v2, m2, table, x, y2, K, max(begin, s2) - s2, min(end, s2 + n2) - s2);
}

// Dense weights [n_i, K] (row-major, the Linear layout), y_i = W_i x.
export function gemv_t_f32_group(
  x: usize, K: i32,
  w0: usize, y0: usize, n0: i32,
  w1: usize, y1: usize, n1: i32,
  w2: usize, y2: usize, n2: i32,
  begin: i32, end: i32,
): void {
  const s1 = n0, s2 = n0 + n1;
  if (begin < s1) gemvRows(x, w0, y0, 1, n0, K, begin, min(end, s1));
  if (begin < s2 && end > s1) gemvRows(x, w1, y1, 1, n1, K, max(begin, s1) - s1, min(end, s2) - s1);
  if (end > s2) gemvRows(x, w2, y2, 1, n2, K, max(begin, s2) - s2, min(end, s2 + n2) - s2);
}
