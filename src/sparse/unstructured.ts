/**
 * Which format holds an unstructured sparse weight best: bitmap rows up to 60% sparsity, CSR
 * above. Measured at batch 1, 2 threads, weights from DRAM (tools/ab-linear.mjs, 4096x4096,
 * 4096x768, 768x2048, 2048x768): bitmap ran 1.1-1.2x faster than CSR at 50%, the two within
 * +-5% of each other at 60%, and CSR 1.1-1.2x faster at 70% (1.4x on 11008x4096 in bench
 * kernels), since a bitmap still walks every column while CSR touches only the kept ones. At 50%
 * a bitmap also takes 2.125 bytes per weight against CSR's 3.
 */
import type { Backend } from '../core/backend.js';
import { getBackend } from '../core/engine.js';
import { ArgumentError } from '../core/errors.js';
import { BitmapMatrix } from './bitmap.js';
import { CsrMatrix } from './csr.js';
import type { Mask } from './mask.js';

export const BITMAP_MAX_SPARSITY = 0.6;

export type UnstructuredFormat = 'csr' | 'bitmap';
/** 'auto' picks by sparsity (unstructuredFormatFor). */
export type UnstructuredFormatChoice = 'auto' | UnstructuredFormat;
export const UNSTRUCTURED_FORMAT_CHOICES: readonly UnstructuredFormatChoice[] = ['auto', 'csr', 'bitmap'];

export function unstructuredFormatFor(sparsity: number, choice: UnstructuredFormatChoice = 'auto'): UnstructuredFormat {
  if (!UNSTRUCTURED_FORMAT_CHOICES.includes(choice)) {
    throw new ArgumentError(`unstructured format must be one of ${UNSTRUCTURED_FORMAT_CHOICES.join(', ')}, got ${String(choice)}`);
  }
  if (choice !== 'auto') return choice;
  return sparsity <= BITMAP_MAX_SPARSITY ? 'bitmap' : 'csr';
}

/** The nonzeros (or masked positions) of a dense row-major [rows, cols] matrix in the format its sparsity calls for. */
export function unstructuredFromDense(
  data: Float32Array,
  rows: number,
  cols: number,
  backend: Backend = getBackend(),
  choice: UnstructuredFormatChoice = 'auto',
  mask?: Mask,
): CsrMatrix | BitmapMatrix {
  let kept = 0;
  if (mask) kept = mask.count();
  else for (let i = 0; i < data.length; i++) if (data[i] !== 0) kept++;
  const sparsity = data.length === 0 ? 0 : 1 - kept / data.length;
  return unstructuredFormatFor(sparsity, choice) === 'bitmap'
    ? BitmapMatrix.fromDense(data, rows, cols, backend, mask)
    : CsrMatrix.fromDense(data, rows, cols, backend, mask);
}
