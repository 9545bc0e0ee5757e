/**
 * What a safetensors file or a model folder holds: every tensor's dtype, shape, bytes and
 * sparsity (fraction of zero elements, counted in bounded chunks so files of any size work).
 * Sparse weights stored in sparsekit's layout (docs/sparse-checkpoint.md) are reported as one
 * row each, with the logical shape and sparsity of the matrix and the bytes of all its parts.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SparsekitError } from '../../core/errors.js';
import { decodeCheckpointLayout, describeSparseFormat, type CheckpointLayout, type SparseWeightEntry } from '../../models/checkpoint-layout.js';
import { elementCount, SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from '../safetensors-format.js';
import type { SafetensorsReader } from '../safetensors-reader.js';
import { openSafetensorsFile } from './safetensors-file.js';

export interface InspectedTensor {
  /** The tensor's name; for a sparse weight, the weight's name (not its parts'). */
  name: string;
  file: string;
  /** 'dense', or a sparse weight's format: 'csr', 'nm 2:4', 'bsr 16x16' (block rows x cols). */
  format: string;
  /** The stored dtype; for a sparse weight, that of its values. */
  dtype: SafetensorsDType;
  /** The logical shape (a sparse weight's [rows, cols]). */
  shape: number[];
  /** Elements of the logical tensor. */
  elements: number;
  /** Stored bytes (all parts of a sparse weight). */
  bytes: number;
  /** Zero elements of the logical tensor. */
  zeros: number;
  /** zeros / elements (0 for empty tensors). */
  sparsity: number;
  /** A sparse weight's stored parts. */
  parts?: { name: string; dtype: SafetensorsDType; shape: number[]; bytes: number }[];
}

export interface InspectReport {
  path: string;
  files: { file: string; bytes: number; tensors: number; metadata: Record<string, string> }[];
  /** One row per dense tensor and per sparse weight. */
  tensors: InspectedTensor[];
  totals: { tensors: number; sparseWeights: number; elements: number; bytes: number; zeros: number; sparsity: number; fileBytes: number };
  /** Problems that did not stop the inspection (e.g. unreadable sparsekit metadata: its parts are shown as plain tensors). */
  warnings: string[];
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
    const warnings: string[] = [];
    const countZeros = async (reader: SafetensorsReader, name: string, width: number): Promise<number> => {
      let zeros = 0;
      for await (const chunk of reader.iterateChunks(name)) {
        const data = chunk.data;
        for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
        doneBytes += data.length * width;
        onProgress(doneBytes, totalBytes);
      }
      return zeros;
    };
    for (const { path: p, reader } of readers) {
      files.push({ file: basename(p), bytes: reader.source.byteLength, tensors: reader.tensors().length, metadata: { ...reader.metadata } });
      let layout: CheckpointLayout;
      try {
        layout = decodeCheckpointLayout(reader.tensors(), reader.metadata, p);
      } catch (error) {
        if (!(error instanceof SparsekitError)) throw error;
        warnings.push(`${error.message}; showing its tensors as stored`);
        layout = { sparse: new Map(), dense: reader.tensors(), orphanParts: [] };
      }
      const ownerOf = new Map<string, SparseWeightEntry>();
      for (const entry of layout.sparse.values()) for (const part of Object.values(entry.parts)) ownerOf.set(part.name, entry);
      const reported = new Set<SparseWeightEntry>();
      const firstRow = tensors.length;
      for (const info of reader.tensors()) {
        const entry = ownerOf.get(info.name);
        if (entry) {
          if (reported.has(entry)) continue;
          reported.add(entry);
          const values = entry.parts.values;
          const stored = elementCount(values.shape);
          const storedZeros = await countZeros(reader, values.name, SAFETENSORS_DTYPE_BYTES[values.dtype]);
          for (const part of Object.values(entry.parts)) if (part !== values) doneBytes += part.dataOffsets[1] - part.dataOffsets[0];
          onProgress(doneBytes, totalBytes);
          const [rows, cols] = entry.description.shape;
          const elements = rows * cols;
          const zeros = elements - (stored - storedZeros);
          tensors.push({
            name: entry.name,
            file: basename(p),
            format: describeSparseFormat(entry.description),
            dtype: entry.valuesDType,
            shape: [rows, cols],
            elements,
            bytes: entry.byteLength,
            zeros,
            sparsity: elements === 0 ? 0 : zeros / elements,
            parts: Object.values(entry.parts).map((part) => ({
              name: part.name,
              dtype: part.dtype,
              shape: [...part.shape],
              bytes: part.dataOffsets[1] - part.dataOffsets[0],
            })),
          });
          continue;
        }
        const zeros = await countZeros(reader, info.name, SAFETENSORS_DTYPE_BYTES[info.dtype]);
        const elements = elementCount(info.shape);
        tensors.push({
          name: info.name,
          file: basename(p),
          format: 'dense',
          dtype: info.dtype,
          shape: [...info.shape],
          elements,
          bytes: info.dataOffsets[1] - info.dataOffsets[0],
          zeros,
          sparsity: elements === 0 ? 0 : zeros / elements,
        });
      }
      // Each file's rows by name, layer numbers in numeric order (files store wide dtypes first, which scatters a sparse weight's parts).
      const rows = tensors.splice(firstRow).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
      tensors.push(...rows);
    }
    const elements = tensors.reduce((s, t) => s + t.elements, 0);
    const zeros = tensors.reduce((s, t) => s + t.zeros, 0);
    return {
      path,
      files,
      tensors,
      totals: {
        tensors: tensors.length,
        sparseWeights: tensors.filter((t) => t.format !== 'dense').length,
        elements,
        bytes: tensors.reduce((s, t) => s + t.bytes, 0),
        zeros,
        sparsity: elements === 0 ? 0 : zeros / elements,
        fileBytes: files.reduce((s, f) => s + f.bytes, 0),
      },
      warnings,
    };
  } finally {
    for (const { reader } of readers) await reader.close();
  }
}
