/**
 * The names of the WebAssembly kernels the thread pool may run, in one list shared by the
 * calling thread and the workers (a job names its kernel by index into this list).
 */
export const KERNEL_NAMES = ['gemm_f32', 'gemv_t_f32', 'gemv_n_f32'] as const;

export type KernelName = (typeof KERNEL_NAMES)[number];

/** The module's exports that are called directly, not through the pool. */
export interface KernelModuleExports {
  gemm_scratch_bytes(): number;
  static_data_end(): number;
}
