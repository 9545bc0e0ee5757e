/** Shared by the data tests: hand-built IDX and CIFAR-10 bytes, error assertions, a reference classifier. */
import assert from 'node:assert/strict';
import { DataError } from '../../src/data/data-error.js';
import type { ClassificationDataset } from '../../src/data/dataset.js';

/** IDX bytes assembled by hand: 0, 0, type byte, dims count, dims as big-endian u32, then `data`. */
export function idxBytes(typeByte: number, dims: readonly number[], data: readonly number[] | Uint8Array = []): Uint8Array {
  const header = [0, 0, typeByte, dims.length];
  for (const dim of dims) header.push((dim >>> 24) & 0xff, (dim >>> 16) & 0xff, (dim >>> 8) & 0xff, dim & 0xff);
  return Uint8Array.from([...header, ...data]);
}

/** One CIFAR-10 record: the label byte, then 1024 bytes per channel from `pixel(channel, index)`. */
export function cifarRecord(label: number, pixel: (channel: number, index: number) => number): Uint8Array {
  const record = new Uint8Array(3073);
  record[0] = label;
  for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) record[1 + c * 1024 + i] = pixel(c, i);
  return record;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Asserts `run` throws (or rejects with) a DataError about `source` with `code` whose message matches `pattern`. */
export async function assertDataError(run: () => unknown, source: string, pattern: RegExp, code = 'E_INPUT'): Promise<DataError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.source, source);
  assert.ok(caught.message.startsWith(`${source}: `), `message should start with the source: ${caught.message}`);
  assert.match(caught.message, pattern);
  return caught;
}

/**
 * Test accuracy of the nearest class mean of the training inputs: a classifier with no
 * training loop, enough to tell labels that carry signal from labels that do not (10% for 10 classes).
 */
export function nearestMeanAccuracy(train: ClassificationDataset, test: ClassificationDataset): number {
  const d = train.shape.reduce((a, b) => a * b, 1);
  const means = new Float64Array(train.classes * d);
  const counts = new Float64Array(train.classes);
  for (let i = 0; i < train.labels.length; i++) {
    counts[train.labels[i]]++;
    for (let k = 0; k < d; k++) means[train.labels[i] * d + k] += train.inputs[i * d + k];
  }
  for (let c = 0; c < train.classes; c++) for (let k = 0; k < d; k++) means[c * d + k] /= Math.max(counts[c], 1);
  let correct = 0;
  for (let i = 0; i < test.labels.length; i++) {
    let best = 0;
    let bestDistance = Infinity;
    for (let c = 0; c < train.classes; c++) {
      let distance = 0;
      for (let k = 0; k < d; k++) distance += (test.inputs[i * d + k] - means[c * d + k]) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [c, distance];
    }
    if (best === test.labels[i]) correct++;
  }
  return correct / test.labels.length;
}

/** How many examples of each class `labels` holds. */
export function classCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}
