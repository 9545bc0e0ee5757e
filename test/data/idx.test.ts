import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArgumentError } from '../../src/core/errors.js';
import { encodeIdx, imageClassificationFromIdx, IDX_DTYPES, parseIdx, type IdxArray, type IdxDType } from '../../src/data/idx.js';
import { assertDataError, idxBytes } from './helpers.js';

describe('parseIdx', () => {
  it('reads u8 [2, 3] row-major', () => {
    const parsed = parseIdx(idxBytes(0x08, [2, 3], [0, 1, 2, 253, 254, 255]));
    assert.equal(parsed.dtype, 'u8');
    assert.deepEqual(parsed.shape, [2, 3]);
    assert.ok(parsed.data instanceof Uint8Array);
    assert.deepEqual([...parsed.data], [0, 1, 2, 253, 254, 255]);
  });

  it('reads big-endian dims above 255', () => {
    const parsed = parseIdx(idxBytes(0x08, [0x0102, 0], []));
    assert.deepEqual(parsed.shape, [258, 0]);
    assert.equal(parsed.data.length, 0);
  });

  it('reads every multi-byte type big-endian', () => {
    const cases: [number, IdxDType, number[], number[]][] = [
      [0x09, 'i8', [0x7f, 0x80, 0xff], [127, -128, -1]],
      [0x0b, 'i16', [0x01, 0x02, 0xff, 0xfe], [258, -2]],
      [0x0c, 'i32', [0x00, 0x01, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00], [65536, -(2 ** 31)]],
      [0x0d, 'f32', [0x3f, 0x80, 0x00, 0x00, 0xc0, 0x49, 0x0f, 0xdb], [1, Math.fround(-Math.PI)]],
      [0x0e, 'f64', [0xc0, 0x00, 0, 0, 0, 0, 0, 0, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a], [-2, 0.1]],
    ];
    for (const [typeByte, dtype, bytes, values] of cases) {
      const parsed = parseIdx(idxBytes(typeByte, [values.length], bytes));
      assert.equal(parsed.dtype, dtype);
      assert.deepEqual([...parsed.data], values, dtype);
    }
  });

  it('returns data that does not share memory with the input', () => {
    const bytes = idxBytes(0x08, [2], [5, 6]);
    const parsed = parseIdx(bytes);
    bytes[8] = 99;
    assert.deepEqual([...parsed.data], [5, 6]);
  });

  it('reads from a view into a larger buffer', () => {
    const file = idxBytes(0x0b, [2], [0x00, 0x07, 0xff, 0xff]);
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    assert.deepEqual([...parseIdx(padded.subarray(3)).data], [7, -1]);
  });

  it('names each malformed input and the source', async () => {
    const src = 'train-images-idx3-ubyte';
    const parse = (bytes: Uint8Array) => () => parseIdx(bytes, src);
    await assertDataError(parse(Uint8Array.of(0, 0, 8)), src, /truncated header: 3 byte/);
    await assertDataError(parse(Uint8Array.of(1, 0, 8, 1, 0, 0, 0, 0)), src, /wrong magic number.*0x01 0x00/);
    await assertDataError(parse(Uint8Array.of(0x1f, 0x8b, 8, 0)), src, /gzip-compressed/);
    await assertDataError(parse(idxBytes(0x0a, [1], [0])), src, /unknown type byte 0x0A/);
    await assertDataError(parse(Uint8Array.of(0, 0, 8, 0)), src, /0 dimensions/);
    await assertDataError(parse(idxBytes(0x08, [2, 3]).subarray(0, 10)), src, /truncated header: 2 dimension\(s\) need 12 header bytes, the data has 10/);
    await assertDataError(parse(idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5])), src, /truncated data: dims \[2, 3\] of u8 need 6 data bytes .* found 5/);
    await assertDataError(parse(idxBytes(0x0b, [2], [0, 1, 0])), src, /truncated data: .* need 4 data bytes/);
    await assertDataError(parse(idxBytes(0x08, [2], [1, 2, 3])), src, /trailing bytes/);
    await assertDataError(parse(idxBytes(0x08, [65536, 65536])), src, /too large: dims \[65536, 65536\]/);
    await assertDataError(parse(idxBytes(0x0e, [2 ** 28])), src, /too large/);
  });

  it('names "IDX data" when no source is given', async () => {
    await assertDataError(() => parseIdx(new Uint8Array(0)), 'IDX data', /truncated header/);
  });
});

describe('encodeIdx', () => {
  it('writes the bytes of the format', () => {
    const encoded = encodeIdx({ dtype: 'i16', shape: [1, 2], data: Int16Array.of(258, -2) });
    assert.deepEqual([...encoded], [...idxBytes(0x0b, [1, 2], [0x01, 0x02, 0xff, 0xfe])]);
  });

  it('refuses shapes that do not fit the data', () => {
    assert.throws(() => encodeIdx({ dtype: 'u8', shape: [2, 2], data: new Uint8Array(3) }), ArgumentError);
    assert.throws(() => encodeIdx({ dtype: 'u8', shape: [], data: new Uint8Array(1) }), ArgumentError);
    assert.throws(() => encodeIdx({ dtype: 'u8', shape: [-1], data: new Uint8Array(0) }), ArgumentError);
  });
});

/** Big-endian bytes of `array` written independently of src: host bytes, reversed per element. */
function referenceEncode(array: IdxArray): Uint8Array {
  const typeByte = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e }[array.dtype];
  const width = array.data.BYTES_PER_ELEMENT;
  const host = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const littleEndianHost = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
  const big: number[] = [];
  for (let i = 0; i < array.data.length; i++) {
    const element = [...host.subarray(i * width, (i + 1) * width)];
    big.push(...(littleEndianHost ? element.reverse() : element));
  }
  return idxBytes(typeByte, array.shape, big);
}

const arrayOfDtype = (dtype: IdxDType, length: number): fc.Arbitrary<IdxArray['data']> => {
  const n = { minLength: length, maxLength: length };
  const ints = (min: number, max: number) => fc.array(fc.integer({ min, max }), n);
  switch (dtype) {
    case 'u8':
      return ints(0, 255).map((v) => Uint8Array.from(v));
    case 'i8':
      return ints(-128, 127).map((v) => Int8Array.from(v));
    case 'i16':
      return ints(-32768, 32767).map((v) => Int16Array.from(v));
    case 'i32':
      return ints(-(2 ** 31), 2 ** 31 - 1).map((v) => Int32Array.from(v));
    case 'f32':
      return fc.array(fc.float({ noNaN: true }), n).map((v) => Float32Array.from(v));
    case 'f64':
      return fc.array(fc.double({ noNaN: true }), n).map((v) => Float64Array.from(v));
  }
};

const idxArray: fc.Arbitrary<IdxArray> = fc
  .tuple(fc.constantFrom(...IDX_DTYPES), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }))
  .chain(([dtype, shape]) => arrayOfDtype(dtype, shape.reduce((a, b) => a * b, 1)).map((data) => ({ dtype, shape, data })));

describe('IDX round trip (property)', () => {
  it('parse(bytes) gives back the array, and encodeIdx writes the same bytes as a reference encoder', () => {
    fc.assert(
      fc.property(idxArray, (array) => {
        const bytes = referenceEncode(array);
        assert.deepEqual([...encodeIdx(array)], [...bytes]);
        const parsed = parseIdx(bytes);
        assert.equal(parsed.dtype, array.dtype);
        assert.deepEqual(parsed.shape, array.shape);
        assert.equal(parsed.data.constructor, array.data.constructor);
        // Object.is keeps -0 apart from +0.
        for (let i = 0; i < array.data.length; i++) assert.ok(Object.is(parsed.data[i], array.data[i]), `element ${i}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('imageClassificationFromIdx', () => {
  const images = parseIdx(idxBytes(0x08, [3, 2, 2], [0, 255, 51, 102, 1, 2, 3, 4, 9, 9, 9, 9]));
  const labels = parseIdx(idxBytes(0x08, [3], [7, 0, 2]));

  it('scales pixels to [0, 1] and keeps labels and image shape', () => {
    const dataset = imageClassificationFromIdx(images, labels);
    assert.deepEqual(dataset.shape, [2, 2]);
    assert.equal(dataset.classes, 8);
    assert.deepEqual([...dataset.labels], [7, 0, 2]);
    assert.ok(dataset.labels instanceof Int32Array);
    assert.equal(dataset.inputs.length, 12);
    assert.deepEqual([...dataset.inputs.subarray(0, 4)], [0, 1, Math.fround(0.2), Math.fround(0.4)]);
    assert.equal(dataset.inputs[11], Math.fround(9 / 255));
  });

  it('takes the number of classes from the options', () => {
    assert.equal(imageClassificationFromIdx(images, labels, { classes: 10 }).classes, 10);
  });

  it('refuses arrays that do not pair up', async () => {
    const i8Images = parseIdx(idxBytes(0x09, [1, 1, 1], [0]));
    const flatImages = parseIdx(idxBytes(0x08, [4], [0, 0, 0, 0]));
    const twoLabels = parseIdx(idxBytes(0x08, [2], [0, 1]));
    const i32Labels = parseIdx(idxBytes(0x0c, [3], new Array(12).fill(0)));
    await assertDataError(() => imageClassificationFromIdx(i8Images, labels), 'IDX images', /expected \[N, H, W\] of u8, got \[1, 1, 1\] of i8/);
    await assertDataError(() => imageClassificationFromIdx(flatImages, labels), 'IDX images', /expected \[N, H, W\]/);
    await assertDataError(() => imageClassificationFromIdx(images, i32Labels), 'IDX labels', /expected \[N\] of u8/);
    await assertDataError(() => imageClassificationFromIdx(images, twoLabels), 'IDX labels', /2 labels for 3 images/);
    await assertDataError(() => imageClassificationFromIdx(images, labels, { classes: 5 }), 'IDX labels', /label 7 is outside \[0, 5\)/);
    await assertDataError(
      () => imageClassificationFromIdx(images, twoLabels, { sources: { images: 'a.idx', labels: 'b.idx' } }),
      'b.idx',
      /2 labels for 3 images/,
    );
  });
});
