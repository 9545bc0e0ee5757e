// The sparsekit CPU kernels. One module, built twice (baseline SIMD and relaxed SIMD); the
// JavaScript side (backends/cpu/) allocates all memory and passes byte offsets.
export { gemm_f32, gemm_scratch_bytes } from './gemm';
export { gemv_t_f32, gemv_n_f32 } from './gemv';

/** End of this module's static data: the JavaScript heap must start above it. */
export function static_data_end(): usize {
  return __heap_base;
}
