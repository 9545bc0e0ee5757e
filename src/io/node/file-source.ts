/**
 * A ByteSource over a file on disk (Node only). Reads are positional (pread), so concurrent
 * reads of different tensors do not interfere and the file is never loaded whole.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { checkReadRange, type ByteSource } from '../byte-source.js';
import { SafetensorsError } from '../safetensors-error.js';

/** Largest single read: Node rejects reads of 2 GiB or more in one call. */
const MAX_READ_BYTES = 1024 * 1024 * 1024;

export class FileByteSource implements ByteSource {
  readonly name: string;
  readonly byteLength: number;
  private readonly handle: FileHandle;
  private closed = false;

  private constructor(handle: FileHandle, name: string, byteLength: number) {
    this.handle = handle;
    this.name = name;
    this.byteLength = byteLength;
  }

  /** Opens `path` read-only. The length is taken once, at open; later growth is ignored. */
  static async open(path: string): Promise<FileByteSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (cause) {
      throw new SafetensorsError(path, `cannot open: ${(cause as Error).message}`, { cause });
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new SafetensorsError(path, 'is not a regular file');
      return new FileByteSource(handle, path, stats.size);
    } catch (error) {
      await handle.close().catch(() => undefined);
      if (error instanceof SafetensorsError) throw error;
      throw new SafetensorsError(path, `cannot stat: ${(error as Error).message}`, { cause: error });
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this, offset, length);
    const bytes = new Uint8Array(length);
    await this.readInto(offset, bytes);
    return bytes;
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkReadRange(this, offset, target.length);
    let done = 0;
    while (done < target.length) {
      const length = Math.min(target.length - done, MAX_READ_BYTES);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(target, done, length, offset + done));
      } catch (cause) {
        throw new SafetensorsError(this.name, `read failed at offset ${offset + done}: ${(cause as Error).message}`, { cause });
      }
      if (bytesRead === 0) {
        throw new SafetensorsError(
          this.name,
          `file ended at byte ${offset + done} though it was ${this.byteLength} bytes when opened (truncated while open?)`,
        );
      }
      done += bytesRead;
    }
  }

  /** Idempotent, so error paths can close without tracking whether a close already happened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
