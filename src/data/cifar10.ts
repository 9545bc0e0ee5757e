/**
 * The CIFAR-10 binary format (Krizhevsky 2009, "the binary version"): fixed records of 1 label
 * byte (0..9) and 3072 pixel bytes, the 1024 red values of the 32x32 image row-major, then the
 * 1024 green, then the 1024 blue. data_batch_1.bin ... data_batch_5.bin and test_batch.bin hold
 * 10000 records each. Browser-safe: this parses bytes; data/node/ reads the files.
 */
import { DataError } from './data-error.js';
import type { ClassificationDataset } from './dataset.js';

export const CIFAR10_IMAGE_SHAPE: readonly number[] = [3, 32, 32];
export const CIFAR10_PIXEL_BYTES = 3 * 32 * 32;
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_PIXEL_BYTES;

/** Class names in label order, as batches.meta.txt lists them. */
export const CIFAR10_CLASS_NAMES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** One batch file's bytes and the name its errors start with (the file path). */
export interface Cifar10Batch {
  readonly bytes: Uint8Array;
  readonly source: string;
}

/**
 * A dataset of every record of `batches`, in order: inputs [N, 3*32*32] channel-major (the file's
 * own order, which is PyTorch's [C, H, W]) scaled to [0, 1] by /255, shape [3, 32, 32], 10 classes.
 * Plain Uint8Arrays are named "CIFAR-10 batch i" in errors.
 */
export function parseCifar10(batches: Uint8Array | Cifar10Batch | readonly (Uint8Array | Cifar10Batch)[]): ClassificationDataset {
  const list = (Array.isArray(batches) ? batches : [batches]) as readonly (Uint8Array | Cifar10Batch)[];
  const named = list.map((batch, i) => (batch instanceof Uint8Array ? { bytes: batch, source: `CIFAR-10 batch ${i}` } : batch));
  if (named.length === 0) throw new DataError('CIFAR-10', 'no batches given');
  let total = 0;
  for (const { bytes, source } of named) {
    if (bytes.length === 0) throw new DataError(source, 'is empty; a CIFAR-10 batch holds records of 3073 bytes');
    if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
      throw new DataError(
        source,
        `length ${bytes.length} is not a multiple of the ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 record (${Math.floor(bytes.length / CIFAR10_RECORD_BYTES)} whole record(s) and ${bytes.length % CIFAR10_RECORD_BYTES} byte(s) more); is it a CIFAR-100 or Python-pickle batch?`,
      );
    }
    total += bytes.length / CIFAR10_RECORD_BYTES;
  }
  const inputs = new Float32Array(total * CIFAR10_PIXEL_BYTES);
  const labels = new Int32Array(total);
  let example = 0;
  for (const { bytes, source } of named) {
    for (let record = 0; record * CIFAR10_RECORD_BYTES < bytes.length; record++, example++) {
      const start = record * CIFAR10_RECORD_BYTES;
      const label = bytes[start];
      if (label > 9) throw new DataError(source, `record ${record} (byte offset ${start}) has label ${label}; CIFAR-10 labels are 0..9`);
      labels[example] = label;
      const out = example * CIFAR10_PIXEL_BYTES;
      for (let j = 0; j < CIFAR10_PIXEL_BYTES; j++) inputs[out + j] = bytes[start + 1 + j] / 255;
    }
  }
  return { inputs, labels, classes: CIFAR10_CLASS_NAMES.length, shape: CIFAR10_IMAGE_SHAPE };
}
