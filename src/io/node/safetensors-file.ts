/**
 * Opening and writing safetensors files on disk (Node only).
 * Writes are atomic: bytes go to a temporary file in the target's directory, which is fsynced
 * and renamed over the target only once complete, so a crash or error never leaves a
 * half-written model under the real name (rename within one directory is atomic on POSIX).
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SparsekitError } from '../../core/errors.js';
import { SafetensorsError } from '../safetensors-error.js';
import {
  DEFAULT_WRITE_CHUNK_BYTES,
  planSafetensorsFile,
  tensorByteChunks,
  type SafetensorsTensorInput,
} from '../safetensors-encode.js';
import { SafetensorsReader } from '../safetensors-reader.js';
import { temporaryPathFor } from './atomic-file.js';
import { FileByteSource } from './file-source.js';

/** A reader over the file at `path`; call `close()` on it when done. */
export async function openSafetensorsFile(path: string): Promise<SafetensorsReader> {
  const source = await FileByteSource.open(path);
  try {
    return await SafetensorsReader.open(source);
  } catch (error) {
    await source.close().catch(() => undefined);
    throw error;
  }
}

export interface WriteSafetensorsOptions {
  /** Bytes handed to each write call; bounds the memory used to encode F16/BF16 from f32. */
  chunkBytes?: number;
}

/**
 * Writes `tensors` (and string `metadata`) to `path`, replacing any existing file only on success.
 * Everything that can be checked up front (names, dtypes, shapes, data lengths) is checked before
 * any file is created. Tensors are laid out as the reference writer does (see planSafetensorsFile).
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Readonly<Record<string, string>>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const plan = planSafetensorsFile(tensors, metadata, path);
  const chunkBytes = options.chunkBytes ?? DEFAULT_WRITE_CHUNK_BYTES;
  const temporaryPath = temporaryPathFor(path);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporaryPath, 'wx');
    let position = await writeFully(handle, plan.headerBytes, 0);
    for (const { input } of plan.entries) {
      for (const chunk of tensorByteChunks(input, path, chunkBytes)) position = await writeFully(handle, chunk, position);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporaryPath, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporaryPath).catch(() => undefined);
    if (error instanceof SparsekitError) throw error;
    throw new SafetensorsError(path, `write failed: ${(error as Error).message}`, { cause: error });
  }
  await syncDirectory(dirname(path));
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
  return position + written;
}

/**
 * Makes the rename itself durable. Best effort: some platforms (Windows) cannot open or fsync
 * a directory, and the file's contents are already safely on disk by then.
 */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Not fatal: see above.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
