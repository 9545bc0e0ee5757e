/**
 * Stored safetensors elements -> engine typed arrays (core/dtype.ts). The spec fixes the byte
 * order to little-endian; every JS engine in practice runs little-endian, so typed-array views
 * read stored elements directly and a big-endian host is refused rather than mis-decoded.
 */
import { ShapeError } from '../core/errors.js';
import { allocTypedArray, type DType, type TypedArray } from '../core/dtype.js';
import { bf16BitsToF32Bits, f16ToF32BitsTable, f8E4M3ToF32BitsTable, f8E5M2ToF32BitsTable } from './float-bits.js';
import { SafetensorsError } from './safetensors-error.js';
import {
  ENGINE_DTYPE_OF,
  SAFETENSORS_DTYPE_BYTES,
  elementCount,
  type SafetensorsDType,
  type SafetensorsTensorInfo,
} from './safetensors-format.js';

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Where decoded bytes come from, for error messages. */
export interface DecodeContext {
  fileName: string;
  tensor: string;
}

/**
 * Stored dtypes whose little-endian bytes already are the engine representation,
 * so a reader may copy bytes straight into the destination array.
 */
export function storesEngineBytes(dtype: SafetensorsDType): boolean {
  return dtype === 'F32' || dtype === 'I32' || dtype === 'U16' || dtype === 'U8';
}

/**
 * Decodes a whole tensor's stored bytes into its engine dtype (ENGINE_DTYPE_OF), into `out`
 * when given (it must have the engine dtype's array type and the tensor's element count).
 */
export function decodeToEngine(
  info: SafetensorsTensorInfo,
  raw: Uint8Array,
  out?: TypedArray,
  fileName = '(in-memory safetensors)',
): TypedArray {
  const context = { fileName, tensor: info.name };
  const count = elementCount(info.shape);
  const expectedBytes = count * SAFETENSORS_DTYPE_BYTES[info.dtype];
  if (raw.length !== expectedBytes) {
    throw new SafetensorsError(
      fileName,
      `shape [${info.shape.join(', ')}] with dtype ${info.dtype} needs ${expectedBytes} bytes; got ${raw.length}`,
      { tensor: info.name },
    );
  }
  const target = out ?? allocTypedArray(ENGINE_DTYPE_OF[info.dtype], count);
  checkEngineOutput(info, target, fileName);
  decodeElementsInto(info.dtype, raw, target, 0, context);
  return target;
}

/** Throws unless `out` can receive the engine decoding of the whole tensor `info`. */
export function checkEngineOutput(info: SafetensorsTensorInfo, out: TypedArray, fileName: string): void {
  const engine = ENGINE_DTYPE_OF[info.dtype];
  const count = elementCount(info.shape);
  if (!(out instanceof ARRAY_TYPE_OF[engine]) || out.length !== count) {
    throw new ShapeError(
      `${fileName}: tensor ${JSON.stringify(info.name)}: dtype ${info.dtype} decodes to ${engine}, so the output must be a ` +
        `${ARRAY_TYPE_OF[engine].name} of ${count} elements; got a ${out.constructor.name} of ${out.length}`,
    );
  }
}

const ARRAY_TYPE_OF: Readonly<Record<DType, { readonly name: string; [Symbol.hasInstance](value: unknown): boolean }>> = {
  f32: Float32Array,
  i32: Int32Array,
  u16: Uint16Array,
  u8: Uint8Array,
  bool: Uint8Array,
};

/**
 * Decodes `raw` (whole stored elements of `dtype`) into `out` starting at element `outOffset`.
 * `out` must be the engine array type; callers check that once per tensor, not per chunk.
 */
export function decodeElementsInto(
  dtype: SafetensorsDType,
  raw: Uint8Array,
  out: TypedArray,
  outOffset: number,
  context: DecodeContext,
): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new SafetensorsError(context.fileName, 'decoding needs a little-endian host; this one is big-endian', {
      tensor: context.tensor,
    });
  }
  const width = SAFETENSORS_DTYPE_BYTES[dtype];
  const count = raw.length / width;
  // Typed-array views need aligned offsets; a chunk of a memory source may start anywhere.
  const bytes = raw.byteOffset % width === 0 ? raw : raw.slice();
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'F32':
    case 'U16':
    case 'U8':
    case 'I32':
      new Uint8Array(out.buffer, out.byteOffset + outOffset * width, raw.length).set(bytes);
      return;
    case 'F64':
    case 'I16':
    case 'I8':
      // TypedArray.prototype.set converts element-wise: f64 -> f32 rounds to nearest even, ints sign-extend.
      out.set(storedView(dtype, buffer, byteOffset, count), outOffset);
      return;
    case 'F16':
      lookUpBits(f16ToF32BitsTable(), new Uint16Array(buffer, byteOffset, count), out, outOffset);
      return;
    case 'F8_E4M3':
      lookUpBits(f8E4M3ToF32BitsTable(), bytes, out, outOffset);
      return;
    case 'F8_E5M2':
      lookUpBits(f8E5M2ToF32BitsTable(), bytes, out, outOffset);
      return;
    case 'BF16': {
      const stored = new Uint16Array(buffer, byteOffset, count);
      const bits = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, count);
      for (let i = 0; i < count; i++) bits[i] = bf16BitsToF32Bits(stored[i]);
      return;
    }
    case 'BOOL':
      // torch and numpy treat any non-zero byte as true; engine bools are exactly 0 or 1.
      for (let i = 0; i < count; i++) out[outOffset + i] = bytes[i] === 0 ? 0 : 1;
      return;
    case 'U32':
      decodeU32(new Int32Array(buffer, byteOffset, count), out, outOffset, context);
      return;
    case 'I64':
    case 'U64':
      decode64(dtype, new Int32Array(buffer, byteOffset, count * 2), out, outOffset, context);
      return;
  }
}

function storedView(dtype: 'F64' | 'I16' | 'I8', buffer: ArrayBufferLike, byteOffset: number, count: number) {
  if (dtype === 'F64') return new Float64Array(buffer, byteOffset, count);
  if (dtype === 'I16') return new Int16Array(buffer, byteOffset, count);
  return new Int8Array(buffer, byteOffset, count);
}

/** Writes f32 bit patterns (not JS numbers) so NaN payloads survive decoding. */
function lookUpBits(table: Uint32Array, stored: Uint16Array | Uint8Array, out: TypedArray, outOffset: number): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, stored.length);
  for (let i = 0; i < stored.length; i++) bits[i] = table[stored[i]];
}

function decodeU32(storedAsI32: Int32Array, out: TypedArray, outOffset: number, context: DecodeContext): void {
  for (let i = 0; i < storedAsI32.length; i++) {
    const value = storedAsI32[i];
    // Read as int32, a u32 above 2^31 - 1 shows up negative.
    if (value < 0) throwOutOfRange('U32', BigInt(value >>> 0), outOffset + i, context);
    out[outOffset + i] = value;
  }
}

function decode64(dtype: 'I64' | 'U64', halves: Int32Array, out: TypedArray, outOffset: number, context: DecodeContext): void {
  const count = halves.length / 2;
  for (let i = 0; i < count; i++) {
    const low = halves[2 * i];
    const high = halves[2 * i + 1];
    // Fits in i32 exactly when the high word is the sign extension of the low word
    // (and, for unsigned values, the result is non-negative).
    if (high !== low >> 31 || (dtype === 'U64' && low < 0)) {
      const unsigned = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
      throwOutOfRange(dtype, dtype === 'I64' ? BigInt.asIntN(64, unsigned) : unsigned, outOffset + i, context);
    }
    out[outOffset + i] = low;
  }
}

function throwOutOfRange(dtype: SafetensorsDType, value: bigint, index: number, context: DecodeContext): never {
  throw new SafetensorsError(
    context.fileName,
    `element ${index} is ${value}, outside the i32 range [-2147483648, 2147483647] that ${dtype} decodes to`,
    { tensor: context.tensor },
  );
}
