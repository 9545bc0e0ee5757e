/**
 * Random-access bytes of a file-like thing, so the safetensors reader works the same over
 * a Node file handle, a browser File/Blob, or bytes already in memory, and never needs
 * the whole file at once.
 */
import { SafetensorsError } from './safetensors-error.js';

export interface ByteSource {
  readonly byteLength: number;
  /** Shown in every error message: a path, a File name, or a label. */
  readonly name: string;
  /**
   * Exactly `length` bytes from `offset`. The result may be a view of memory the source keeps
   * (MemoryByteSource does this), so callers must treat it as read-only.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: fills all of `target` from `offset`, so callers can reuse buffers or read into memory they own. */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  close?(): Promise<void>;
}

/** Throws unless [offset, offset + length) is a whole-number range inside `source`. */
export function checkReadRange(source: Pick<ByteSource, 'byteLength' | 'name'>, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > source.byteLength
  ) {
    throw new SafetensorsError(
      source.name,
      `cannot read ${length} bytes at offset ${offset}: the source holds ${source.byteLength} bytes`,
    );
  }
}

/** Bytes already in memory. Reads are views, not copies. */
export class MemoryByteSource implements ByteSource {
  readonly name: string;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array | ArrayBuffer, name = '(in-memory safetensors)') {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.name = name;
  }

  get byteLength(): number {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkReadRange(this, offset, target.length);
    target.set(this.bytes.subarray(offset, offset + target.length));
  }
}

/**
 * A Blob, typically a File the user picked or dropped in a browser. Blob.slice is lazy,
 * so only the requested range is ever loaded.
 */
export class BlobByteSource implements ByteSource {
  readonly name: string;
  private readonly blob: Blob;

  constructor(blob: Blob, name?: string) {
    this.blob = blob;
    const fileName = (blob as Partial<File>).name;
    this.name = name ?? (typeof fileName === 'string' && fileName !== '' ? fileName : '(blob)');
  }

  get byteLength(): number {
    return this.blob.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this, offset, length);
    const bytes = new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
    if (bytes.length !== length) {
      throw new SafetensorsError(this.name, `read ${bytes.length} bytes at offset ${offset}; expected ${length}`);
    }
    return bytes;
  }
}
