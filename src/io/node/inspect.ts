/**
 * What a safetensors file or a model folder holds: every tensor's dtype, shape, bytes and
 * sparsity (fraction of zero elements, counted in bounded chunks so files of any size work).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SparsekitError } from '../../core/errors.js';
import { elementCount, SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from '../safetensors-format.js';
import { openSafetensorsFile } from './safetensors-file.js';

export interface InspectedTensor {
  name: string;
  file: string;
  dtype: SafetensorsDType;
  shape: number[];
  elements: number;
  bytes: number;
  zeros: number;
  /** zeros / elements (0 for empty tensors). */
  sparsity: number;
}

export interface InspectReport {
  path: string;
  files: { file: string; bytes: number; tensors: number; metadata: Record<string, string> }[];
  tensors: InspectedTensor[];
  totals: { tensors: number; elements: number; bytes: number; zeros: number; sparsity: number; fileBytes: number };
}

/** Called with bytes of tensor data scanned so far and in total. */
export type InspectProgress = (doneBytes: number, totalBytes: number) => void;

/** The safetensors files of `path`: the file itself, a sharded model's index, or every *.safetensors in a folder. */
export async function safetensorsFilesOf(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new SparsekitError('E_NOT_FOUND', `${path}: no such file or folder`);
  }
  if (info.isFile()) return [path];
  const indexPath = join(path, 'model.safetensors.index.json');
  const entries = await readdir(path);
  if (entries.includes('model.safetensors.index.json')) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(await readFile(indexPath, 'utf8')) as typeof index;
    } catch (error) {
      throw new SparsekitError('E_MODEL', `${indexPath}: not valid JSON (${(error as Error).message})`);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') {
      throw new SparsekitError('E_MODEL', `${indexPath}: has no "weight_map" object`);
    }
    return [...new Set(Object.values(index.weight_map))].sort().map((f) => join(path, f));
  }
  const files = entries.filter((e) => e.endsWith('.safetensors')).sort();
  if (files.length === 0) throw new SparsekitError('E_NOT_FOUND', `${path}: the folder holds no .safetensors files`);
  return files.map((f) => join(path, f));
}

export async function inspectSafetensors(path: string, onProgress: InspectProgress = () => {}): Promise<InspectReport> {
  const paths = await safetensorsFilesOf(path);
  const readers = [];
  try {
    for (const p of paths) readers.push({ path: p, reader: await openSafetensorsFile(p) });
    const totalBytes = readers.reduce((s, { reader }) => s + reader.tensors().reduce((t, i) => t + (i.dataOffsets[1] - i.dataOffsets[0]), 0), 0);
    let doneBytes = 0;
    const files: InspectReport['files'] = [];
    const tensors: InspectedTensor[] = [];
    for (const { path: p, reader } of readers) {
      files.push({ file: basename(p), bytes: reader.source.byteLength, tensors: reader.tensors().length, metadata: { ...reader.metadata } });
      for (const info of reader.tensors()) {
        let zeros = 0;
        const width = SAFETENSORS_DTYPE_BYTES[info.dtype];
        for await (const chunk of reader.iterateChunks(info.name)) {
          const data = chunk.data;
          for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
          doneBytes += data.length * width;
          onProgress(doneBytes, totalBytes);
        }
        const elements = elementCount(info.shape);
        tensors.push({
          name: info.name,
          file: basename(p),
          dtype: info.dtype,
          shape: [...info.shape],
          elements,
          bytes: info.dataOffsets[1] - info.dataOffsets[0],
          zeros,
          sparsity: elements === 0 ? 0 : zeros / elements,
        });
      }
    }
    const elements = tensors.reduce((s, t) => s + t.elements, 0);
    const zeros = tensors.reduce((s, t) => s + t.zeros, 0);
    return {
      path,
      files,
      tensors,
      totals: {
        tensors: tensors.length,
        elements,
        bytes: tensors.reduce((s, t) => s + t.bytes, 0),
        zeros,
        sparsity: elements === 0 ? 0 : zeros / elements,
        fileBytes: files.reduce((s, f) => s + f.bytes, 0),
      },
    };
  } finally {
    for (const { reader } of readers) await reader.close();
  }
}
