/**
 * Element types the engine computes in. Files may hold more (f16, bf16, f64, i64 ...):
 * io/ decodes those on load into one of these, so kernels only ever see this list.
 * `u16` exists for compact sparse indices; `bool` is stored one byte per element.
 */
export type DType = 'f32' | 'i32' | 'u16' | 'u8' | 'bool';

export const DTYPES: readonly DType[] = ['f32', 'i32', 'u16', 'u8', 'bool'];

export type TypedArray = Float32Array | Int32Array | Uint16Array | Uint8Array;

export type TypedArrayOf<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : D extends 'u16'
      ? Uint16Array
      : Uint8Array;

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { f32: 4, i32: 4, u16: 2, u8: 1, bool: 1 };

/** A typed array of `dtype` viewing `length` elements of `buffer` from `byteOffset`. */
export function typedArrayView<D extends DType>(
  dtype: D,
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): TypedArrayOf<D> {
  switch (dtype) {
    case 'f32':
      return new Float32Array(buffer, byteOffset, length) as TypedArrayOf<D>;
    case 'i32':
      return new Int32Array(buffer, byteOffset, length) as TypedArrayOf<D>;
    case 'u16':
      return new Uint16Array(buffer, byteOffset, length) as TypedArrayOf<D>;
    default:
      return new Uint8Array(buffer, byteOffset, length) as TypedArrayOf<D>;
  }
}

/** A new zero-filled typed array of `dtype` with `length` elements. */
export function allocTypedArray<D extends DType>(dtype: D, length: number): TypedArrayOf<D> {
  return typedArrayView(dtype, new ArrayBuffer(length * BYTES_PER_ELEMENT[dtype]), 0, length);
}

/** The engine dtype whose typed array `data` is. Uint8Array maps to u8 (bool must be said explicitly). */
export function dtypeOfTypedArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint16Array) return 'u16';
  return 'u8';
}
