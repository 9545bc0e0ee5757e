/**
 * The names of the WebAssembly kernels the thread pool may run, in one list shared by the
 * calling thread and the workers (a job names its kernel by index into this list).
 */
export const KERNEL_NAMES = [
  'gemm_f32',
  'gemv_t_f32',
  'gemv_n_f32',
  'csr_spmv_staged',
  'csr_spmv_i32',
  'csr_spmm_u16',
  'csr_spmm_i32',
  'quad_table_24',
  'nm24_spmv',
  'nm_spmv',
  'nm_spmm',
  'bsr_spmv',
  'bsr_spmm',
  'pack_x_tiles16',
  'softmax_rows',
  'attention_f32',
  'block_sparse_attention_f32',
  'csr_spmv_staged_group',
  'nm24_spmv_group',
  'gemv_t_f32_group',
  'query_key_logits_f32',
  'silu_f32',
  'nm48_spmv',
  'bitmap_spmv',
  'bitmap_columns',
  'bitmap_spmv_group',
  'bitmap_spmm',
] as const;

export type KernelName = (typeof KERNEL_NAMES)[number];

/** The module's exports that are called directly, not through the pool. */
export interface KernelModuleExports {
  gemm_scratch_bytes(): number;
  attention_scratch_rows(group: number): number;
  block_sparse_scratch_bytes(blockQ: number, blockK: number, headDim: number): number;
  static_data_end(): number;
  x_staging_offset(): number;
  bitmap_table_init(): void;
}

/** Floats the staging area for batch-1 activations holds (csr_spmv_staged). */
export const X_STAGING_FLOATS = 65536;
