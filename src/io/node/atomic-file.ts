/**
 * Whole-file writes that never leave a half-written file under the real name: write a
 * temporary file in the same directory, fsync, rename over the target (atomic on POSIX).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A fresh, dot-prefixed temporary name beside `path` (same directory, so rename never crosses file systems). */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporaryPath = temporaryPathFor(path);
  try {
    const handle = await open(temporaryPath, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
}
