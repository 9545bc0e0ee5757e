import assert from 'node:assert/strict';
import { truncate, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShapeError, ArgumentError } from '../../src/core/errors.js';
import { BlobByteSource, MemoryByteSource } from '../../src/io/byte-source.js';
import { openSafetensorsFile, writeSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import { decodeToEngine } from '../../src/io/safetensors-decode.js';
import { encodeSafetensors } from '../../src/io/safetensors-encode.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { assertSafetensorsError, makeTempDir, safetensorsBytes } from './helpers.js';

const rawOf = (data: ArrayBufferView) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** A file with one tensor of `dtype` whose stored bytes are `data`'s, built by hand. */
function oneTensorFile(dtype: string, count: number, data: ArrayBufferView): Uint8Array {
  return safetensorsBytes(JSON.stringify({ t: { dtype, shape: [count], data_offsets: [0, data.byteLength] } }), rawOf(data));
}

describe('SafetensorsReader', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    temp = await makeTempDir('reader');
  });
  after(async () => {
    await temp.remove();
  });

  it('decodes 64- and 32-bit integers that fit in i32, and rejects those that do not, naming the element', async () => {
    const fits = await SafetensorsReader.open(
      new MemoryByteSource(oneTensorFile('I64', 4, BigInt64Array.of(-(2n ** 31n), 2n ** 31n - 1n, -1n, 0n)), 'i64.safetensors'),
    );
    assert.deepEqual((await fits.read('t')).data, Int32Array.of(-(2 ** 31), 2 ** 31 - 1, -1, 0));

    const cases: Array<[string, ArrayBufferView, RegExp]> = [
      ['I64', BigInt64Array.of(0n, 2n ** 31n), /element 1 is 2147483648, outside the i32 range .* that I64 decodes to/],
      ['I64', BigInt64Array.of(-(2n ** 31n) - 1n), /element 0 is -2147483649/],
      ['I64', BigInt64Array.of(-(2n ** 63n)), /element 0 is -9223372036854775808/],
      ['U64', BigUint64Array.of(1n, 2n, 2n ** 64n - 1n), /element 2 is 18446744073709551615/],
      ['U64', BigUint64Array.of(2n ** 31n), /element 0 is 2147483648/],
      ['U32', Uint32Array.of(5, 2 ** 31), /element 1 is 2147483648, .* that U32 decodes to/],
    ];
    for (const [dtype, data, pattern] of cases) {
      const count = (data as Uint32Array).length;
      const reader = await SafetensorsReader.open(new MemoryByteSource(oneTensorFile(dtype, count, data), 'ints.safetensors'));
      await assertSafetensorsError(reader.read('t'), 'ints.safetensors', pattern, 't');
      // The chunked path reports the element's index in the whole tensor, not in the chunk.
      await assertSafetensorsError(reader.readInto('t', new Int32Array(count), { chunkBytes: 1 }), 'ints.safetensors', pattern, 't');
    }
  });

  it('normalizes BOOL bytes to 0 and 1 (torch treats any non-zero byte as true)', async () => {
    const reader = await SafetensorsReader.open(new MemoryByteSource(oneTensorFile('BOOL', 4, Uint8Array.of(0, 1, 2, 255))));
    assert.deepEqual(await reader.read('t'), { dtype: 'bool', shape: [4], data: Uint8Array.of(0, 1, 1, 1) });
  });

  it('readInto checks the output array and decodes into memory the caller owns', async () => {
    const file = encodeSafetensors([
      { name: 'w', dtype: 'F16', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
      { name: 'm', dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
    ]);
    const reader = await SafetensorsReader.open(new MemoryByteSource(file, 'w.safetensors'));
    const owned = new Float32Array(10);
    const window = owned.subarray(2, 8);
    await reader.readInto('w', window, { chunkBytes: 4 });
    assert.deepEqual([...owned], [0, 0, 1, 2, 3, 4, 5, 6, 0, 0]);
    await assert.rejects(reader.readInto('w', new Float32Array(5)), (error: unknown) => {
      assert.ok(error instanceof ShapeError);
      assert.match(error.message, /^w\.safetensors: tensor "w": dtype F16 decodes to f32, so the output must be a Float32Array of 6 elements; got a Float32Array of 5/);
      return true;
    });
    await assert.rejects(reader.readInto('w', new Int32Array(6)), ShapeError);
    await assert.rejects(reader.readInto('m', new Uint16Array(2)), /must be a Uint8Array of 2 elements/);
    await assert.rejects(reader.readInto('w', owned.subarray(0, 6), { chunkBytes: 0 }), ArgumentError);
  });

  it('iterates huge-tensor statistics chunk by chunk', async () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 0 : i));
    const reader = await SafetensorsReader.open(new MemoryByteSource(encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [10, 100], data: values }])));
    let zeros = 0;
    let chunks = 0;
    for await (const { data } of reader.iterateChunks('w', 256)) {
      chunks++;
      assert.ok(data.length <= 64);
      for (const value of data) if (value === 0) zeros++;
    }
    assert.equal(chunks, Math.ceil(1000 / 64));
    assert.equal(zeros, 334);
  });

  it('names a few available tensors when one is missing', async () => {
    const tensors = Array.from({ length: 12 }, (_, i) => ({ name: `layer.${String(i).padStart(2, '0')}`, dtype: 'U8' as const, shape: [1], data: Uint8Array.of(i) }));
    const reader = await SafetensorsReader.open(new MemoryByteSource(encodeSafetensors(tensors), 'model.safetensors'));
    const error = await assertSafetensorsError(
      reader.read('layer.99'),
      'model.safetensors',
      /no such tensor; the file holds 12: "layer.00", "layer.01", .*"layer.07", \.\.\. \(4 more\)/,
      'layer.99',
    );
    assert.doesNotMatch(error.message, /layer\.08/);
    assert.equal(reader.has('layer.03'), true);
    assert.deepEqual(reader.info('layer.03'), { name: 'layer.03', dtype: 'U8', shape: [1], dataOffsets: [3, 4] });
    const empty = await SafetensorsReader.open(new MemoryByteSource(encodeSafetensors([]), 'empty.safetensors'));
    await assertSafetensorsError(empty.readRaw('x'), 'empty.safetensors', /the file holds no tensors/, 'x');
  });

  it('hands out copies of tensor infos, so callers cannot corrupt the reader', async () => {
    const reader = await SafetensorsReader.open(new MemoryByteSource(encodeSafetensors([{ name: 'w', dtype: 'U8', shape: [2], data: Uint8Array.of(1, 2) }])));
    reader.info('w').shape.push(5);
    reader.tensors()[0].dataOffsets[1] = 99;
    assert.deepEqual(reader.info('w'), { name: 'w', dtype: 'U8', shape: [2], dataOffsets: [0, 2] });
  });

  it('reads from a Blob or File, as in a browser', async () => {
    const file = encodeSafetensors([{ name: 'w', dtype: 'BF16', shape: [2], data: Float32Array.of(1.5, -2) }], { source: 'blob' });
    const reader = await SafetensorsReader.open(new BlobByteSource(new File([file], 'picked.safetensors')));
    assert.equal(reader.fileName, 'picked.safetensors');
    assert.deepEqual(reader.metadata, { source: 'blob' });
    assert.deepEqual((await reader.read('w')).data, Float32Array.of(1.5, -2));
    const truncated = new BlobByteSource(new Blob([file.subarray(0, file.length - 1)]));
    await assertSafetensorsError(SafetensorsReader.open(truncated), '(blob)', /data_offsets \[0, 4\] end past the 3-byte data section/, 'w');
  });

  it('decodeToEngine checks the byte length it is given', () => {
    const info = { name: 'w', dtype: 'F32' as const, shape: [2], dataOffsets: [0, 8] as [number, number] };
    assert.deepEqual(decodeToEngine(info, rawOf(Float32Array.of(1, 2))), Float32Array.of(1, 2));
    assert.throws(() => decodeToEngine(info, new Uint8Array(7), undefined, 'f.safetensors'), /^SafetensorsError: f\.safetensors: tensor "w": .*needs 8 bytes; got 7/);
  });

  it('reports files that cannot be opened or that shrink while open', async () => {
    const missing = join(temp.dir, 'missing.safetensors');
    await assertSafetensorsError(openSafetensorsFile(missing), missing, /cannot open: ENOENT/);
    const directory = join(temp.dir, 'dir.safetensors');
    await mkdir(directory);
    await assertSafetensorsError(openSafetensorsFile(directory), directory, /not a regular file/);

    const path = join(temp.dir, 'shrinking.safetensors');
    await writeSafetensorsFile(path, [{ name: 'w', dtype: 'F32', shape: [64], data: new Float32Array(64) }]);
    const reader = await openSafetensorsFile(path);
    try {
      await truncate(path, reader.dataStart + 10);
      await assertSafetensorsError(reader.read('w'), path, /file ended at byte \d+ though it was \d+ bytes when opened/);
    } finally {
      await reader.close();
      await reader.close(); // closing twice is harmless
    }
  });
});
