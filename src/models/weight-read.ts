/**
 * Decoding one stored float tensor into memory the caller owns (a typed-array view of backend
 * memory, or a host array), chunk by chunk, checking every chunk for NaN and infinities while it
 * is still in cache. Browser-safe: works on any SafetensorsReader (file, Blob, memory).
 */
import { DEFAULT_READ_CHUNK_BYTES, type SafetensorsReader } from '../io/safetensors-reader.js';
import { decodeElementsInto, storesEngineBytes } from '../io/safetensors-decode.js';
import { ENGINE_DTYPE_OF, elementCount, SAFETENSORS_DTYPE_BYTES, type SafetensorsTensorInfo } from '../io/safetensors-format.js';
import { ModelError, tensorMessage } from './model-error.js';

/** Stored dtypes a float weight may have: every one that decodes to f32. */
export function isFloatDType(dtype: SafetensorsTensorInfo['dtype']): boolean {
  return ENGINE_DTYPE_OF[dtype] === 'f32';
}

export interface FloatReadOptions {
  /** Stored bytes decoded per step (default 16 MiB). */
  chunkBytes?: number;
  /** Reject NaN and +-Infinity (default true). */
  checkFinite?: boolean;
}

/**
 * Decodes the float tensor `info` of `reader` into `target` (exactly its element count), checking
 * each chunk for non-finite values; the error names the file, the tensor and the first bad element.
 * `target` may be a function returning the array, called again for every chunk: a view of
 * WebAssembly memory must be taken afresh after each await, since the memory may grow meanwhile.
 */
export async function readFloatTensorInto(
  reader: SafetensorsReader,
  info: SafetensorsTensorInfo,
  target: Float32Array | (() => Float32Array),
  options: FloatReadOptions = {},
): Promise<void> {
  const view = typeof target === 'function' ? target : () => target;
  const file = reader.fileName;
  if (!isFloatDType(info.dtype)) {
    throw new ModelError(tensorMessage(file, info.name, `dtype ${info.dtype} is not a float type; weights are stored as F32, F16 or BF16`));
  }
  const total = elementCount(info.shape);
  const length = view().length;
  if (length !== total) {
    throw new ModelError(tensorMessage(file, info.name, `holds ${total} elements, but ${length} were expected`));
  }
  const width = SAFETENSORS_DTYPE_BYTES[info.dtype];
  const step = Math.max(1, Math.floor((options.chunkBytes ?? DEFAULT_READ_CHUNK_BYTES) / width));
  const base = reader.dataStart + info.dataOffsets[0];
  const context = { fileName: file, tensor: info.name };
  const checkFinite = options.checkFinite ?? true;
  const source = reader.source;
  let scratch: Uint8Array | undefined;
  for (let start = 0; start < total; start += step) {
    const count = Math.min(total, start + step) - start;
    const offset = base + start * width;
    if (storesEngineBytes(info.dtype)) {
      // F32: the stored bytes are the values; read them straight into place.
      const out = view();
      await readBytes(source, offset, new Uint8Array(out.buffer, out.byteOffset + start * 4, count * 4), file);
    } else {
      scratch ??= new Uint8Array(Math.min(total, step) * width);
      const raw = scratch.subarray(0, count * width);
      await readBytes(source, offset, raw, file);
      decodeElementsInto(info.dtype, raw, view(), start, context);
    }
    if (checkFinite) checkFiniteRange(view(), start, start + count, file, info);
  }
}

/** Throws naming the tensor and the first non-finite element of out[start, end). */
export function checkFiniteRange(out: Float32Array, start: number, end: number, file: string, info: { name: string; shape: readonly number[] }): void {
  for (let i = start; i < end; i++) {
    const v = out[i];
    // v - v is 0 for every finite v, NaN for NaN and infinities.
    if (v - v !== 0) {
      throw new ModelError(tensorMessage(file, info.name, `element ${i}${positionOf(i, info.shape)} is ${v}; weights must be finite`), {
        code: 'E_NONFINITE',
      });
    }
  }
}

function positionOf(flat: number, shape: readonly number[]): string {
  if (shape.length < 2) return '';
  const index: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return ` (at [${index.join(', ')}])`;
}

async function readBytes(source: SafetensorsReader['source'], offset: number, target: Uint8Array, file: string): Promise<void> {
  if (source.readInto !== undefined) {
    await source.readInto(offset, target);
    return;
  }
  const bytes = await source.read(offset, target.length);
  if (bytes.length !== target.length) {
    throw new ModelError(`${file}: read of ${target.length} bytes at offset ${offset} returned ${bytes.length} (did the file change while open?)`);
  }
  target.set(bytes);
}
