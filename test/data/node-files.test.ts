import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/data/idx.js';
import { readCifar10Files, readDataFileBytes, readIdxClassification, readIdxFile, readTextCorpus } from '../../src/data/node/files.js';
import { makeTempDir } from '../io/helpers.js';
import { assertDataError, cifarRecord, concatBytes, idxBytes } from './helpers.js';

/** A POSIX tar header for one file named `name` (what cifar-10-binary.tar.gz holds after gunzip). */
function tarHeader(name: string): Uint8Array {
  const header = new Uint8Array(512);
  const put = (offset: number, text: string) => header.set(new TextEncoder().encode(text), offset);
  put(0, name);
  put(100, '0000644\0');
  put(124, '00000000000\0');
  put(156, '0');
  put(257, 'ustar\0');
  put(263, '00');
  header.fill(0x20, 148, 156);
  const sum = header.reduce((s, b) => s + b, 0);
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

describe('data files on disk', () => {
  let dir = '';
  let remove: () => Promise<void> = async () => undefined;
  const path = (name: string) => join(dir, name);
  const images = idxBytes(0x08, [2, 2, 3], [0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 6]);
  const labels = idxBytes(0x08, [2], [4, 9]);

  before(async () => {
    ({ dir, remove } = await makeTempDir('data'));
    await writeFile(path('images-idx3-ubyte'), images);
    await writeFile(path('images-idx3-ubyte.gz'), gzipSync(images));
    await writeFile(path('labels-idx1-ubyte.gz'), gzipSync(labels));
    await writeFile(path('three-labels-idx1-ubyte'), idxBytes(0x08, [3], [1, 2, 3]));
    await writeFile(path('bad-magic'), Uint8Array.of(0, 1, 8, 1, 0, 0, 0, 1, 7));
    await writeFile(path('corrupt.gz'), concatBytes(gzipSync(images).subarray(0, 20), Uint8Array.of(1, 2, 3)));
    await writeFile(path('zeros.gz'), gzipSync(new Uint8Array(100000)));
    await writeFile(path('data_batch_1.bin'), concatBytes(cifarRecord(6, () => 0), cifarRecord(1, () => 255)));
    await writeFile(path('test_batch.bin'), cifarRecord(9, (c) => 51 * c));
    await writeFile(path('bad_label.bin'), cifarRecord(12, () => 0));
    await writeFile(path('cifar-10-binary.tar.gz'), gzipSync(concatBytes(tarHeader('cifar-10-batches-bin/data_batch_1.bin'), cifarRecord(0, () => 0))));
    await writeFile(path('corpus.txt'), 'First Citizen:\nBefore we proceed');
    await writeFile(path('latin1.txt'), Uint8Array.of(0x63, 0x61, 0x66, 0xe9));
    await mkdir(path('a-folder'));
  });

  after(() => remove());

  it('reads IDX files, plain and gzip-compressed, to the same array', async () => {
    const plain = await readIdxFile(path('images-idx3-ubyte'));
    const gz = await readIdxFile(path('images-idx3-ubyte.gz'));
    assert.deepEqual(plain.shape, [2, 2, 3]);
    assert.deepEqual([...plain.data], [0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(gz, plain);
  });

  it('reads an image classification dataset from two IDX files', async () => {
    const dataset = await readIdxClassification(path('images-idx3-ubyte.gz'), path('labels-idx1-ubyte.gz'), { classes: 10 });
    assert.deepEqual(dataset.shape, [2, 3]);
    assert.equal(dataset.classes, 10);
    assert.deepEqual([...dataset.labels], [4, 9]);
    assert.deepEqual([...dataset.inputs.subarray(0, 6)], [0, 0.2, 0.4, 0.6, 0.8, 1].map(Math.fround));
  });

  it('names the file in every error', async () => {
    await assertDataError(() => readIdxFile(path('missing-idx1-ubyte')), path('missing-idx1-ubyte'), /no such file/, 'E_NOT_FOUND');
    await assertDataError(() => readIdxFile(path('a-folder')), path('a-folder'), /is not a file/);
    await assertDataError(() => readIdxFile(path('bad-magic')), path('bad-magic'), /wrong magic number/);
    await assertDataError(() => readIdxFile(path('corrupt.gz')), path('corrupt.gz'), /starts like gzip but cannot be decompressed/);
    await assertDataError(
      () => readIdxClassification(path('images-idx3-ubyte'), path('three-labels-idx1-ubyte')),
      path('three-labels-idx1-ubyte'),
      /3 labels for 2 images/,
    );
    await assertDataError(() => readIdxClassification(path('labels-idx1-ubyte.gz'), path('labels-idx1-ubyte.gz')), path('labels-idx1-ubyte.gz'), /expected \[N, H, W\]/);
    await assertDataError(() => readCifar10Files([path('test_batch.bin'), path('bad_label.bin')]), path('bad_label.bin'), /has label 12/);
    await assertDataError(() => readCifar10Files([path('images-idx3-ubyte')]), path('images-idx3-ubyte'), /not a multiple of the 3073-byte/);
    await assertDataError(() => readCifar10Files([path('cifar-10-binary.tar.gz')]), path('cifar-10-binary.tar.gz'), /is a tar archive; extract it first/);
  });

  it('enforces the size limit on files and on gzip contents', async () => {
    await assertDataError(() => readIdxFile(path('images-idx3-ubyte'), { maxBytes: 10 }), path('images-idx3-ubyte'), /too large: 28 B \(28 bytes\), above the limit of 10 bytes/);
    const compressedSize = gzipSync(new Uint8Array(100000)).length;
    assert.ok(compressedSize < 1000);
    await assertDataError(() => readDataFileBytes(path('zeros.gz'), { maxBytes: 1000 }), path('zeros.gz'), /gzip content exceeds the limit of 1000 bytes/);
    assert.equal((await readDataFileBytes(path('zeros.gz'), { maxBytes: 100000 })).length, 100000);
  });

  it('reads CIFAR-10 batch files in the order given', async () => {
    const dataset = await readCifar10Files([path('test_batch.bin'), path('data_batch_1.bin')]);
    assert.deepEqual([...dataset.labels], [9, 6, 1]);
    assert.deepEqual([dataset.inputs[0], dataset.inputs[1024], dataset.inputs[2048]], [0, 0.2, 0.4].map(Math.fround));
    assert.equal(dataset.inputs[2 * 3072 + 100], 1);
  });

  it('reads a text corpus and splits it', async () => {
    const corpus = await readTextCorpus(path('corpus.txt'), { trainFraction: 0.5 });
    assert.equal(corpus.vocabSize, 256);
    assert.equal(new TextDecoder().decode(Uint8Array.from(corpus.train)), 'First Citizen:\nB');
    assert.equal(new TextDecoder().decode(Uint8Array.from(corpus.heldOut)), 'efore we proceed');
    await assertDataError(() => readTextCorpus(path('latin1.txt')), path('latin1.txt'), /not valid UTF-8/);
  });

  it('writes IDX that reads back (encodeIdx to disk)', async () => {
    const array = { dtype: 'f32' as const, shape: [2, 2], data: Float32Array.of(1.5, -2, 0, 3.25) };
    await writeFile(path('floats.idx.gz'), gzipSync(encodeIdx(array)));
    assert.deepEqual(await readIdxFile(path('floats.idx.gz')), array);
  });
});
