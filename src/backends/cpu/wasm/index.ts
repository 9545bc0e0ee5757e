// The sparsekit CPU kernels. One module, built twice (baseline SIMD and relaxed SIMD); the
// JavaScript side (backends/cpu/) allocates all memory and passes byte offsets.
export { gemm_f32, gemm_scratch_bytes } from './gemm';
export { gemv_t_f32, gemv_n_f32 } from './gemv';
export { csr_spmv_staged, csr_spmv_i32, csr_spmm_u16, csr_spmm_i32 } from './csr';
import { X_STAGING } from './csr';
export { quad_table_24, nm24_spmv, nm48_spmv, nm_spmv, nm_spmm } from './nm';
export { bsr_spmv, bsr_spmm } from './bsr';
export { pack_x_tiles16 } from './transpose';

/** End of this module's static data: the control block and the heap must start above it. */
export function static_data_end(): usize {
  return __heap_base;
}

/** Where csr_spmv_staged reads its activation row (65536 floats). */
export function x_staging_offset(): usize {
  return X_STAGING;
}
export { softmax_rows } from './softmax';
export { attention_f32, attention_scratch_rows } from './attention';
export { block_sparse_attention_f32, block_sparse_scratch_bytes } from './sparse-attention';
export { csr_spmv_staged_group, bitmap_spmv_group, nm24_spmv_group, gemv_t_f32_group } from './linear-group';
export { query_key_logits_f32 } from './query-key-logits';
export { silu_f32 } from './activation';
export { bitmap_spmv, bitmap_spmm, bitmap_columns, bitmap_table_init } from './bitmap';
export { take_partitions, kernel_name } from './jobs';
