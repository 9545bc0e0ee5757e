/**
 * Property tests: random tensors of every dtype, random shapes (scalars and empty tensors
 * included) and random metadata survive writing and reading, on disk and in memory.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { TypedArray } from '../../src/core/dtype.js';
import { MemoryByteSource } from '../../src/io/byte-source.js';
import { bitsToF32, f16BitsToF32Bits, bf16BitsToF32Bits } from '../../src/io/float-bits.js';
import { openSafetensorsFile, writeSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import { encodeSafetensors, type SafetensorsTensorInput } from '../../src/io/safetensors-encode.js';
import { ENGINE_DTYPE_OF, SAFETENSORS_DTYPES, type SafetensorsDType } from '../../src/io/safetensors-format.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import {
  assertSameFloats,
  makeTempDir,
  referenceBf16,
  referenceF16,
  referenceF8E4M3,
  referenceF8E5M2,
} from './helpers.js';

/** A tensor to write plus what reading it back must give. */
interface Case {
  input: SafetensorsTensorInput;
  /** The stored little-endian bytes. */
  raw: Uint8Array;
  /** Engine values, computed independently of the decoder. */
  expected: number[];
}

const bytesOf = (data: ArrayBufferView) => new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

/** Values of `dtype`, as typed-array data plus expected decoding, for `count` elements. */
function valuesArb(dtype: SafetensorsDType, count: number): fc.Arbitrary<Omit<Case, 'input'> & { data: SafetensorsTensorInput['data'] }> {
  const n = { minLength: count, maxLength: count };
  const plain = <T extends SafetensorsTensorInput['data']>(arb: fc.Arbitrary<number[]>, make: (values: number[]) => T, decode: (value: number) => number) =>
    arb.map((values) => {
      const data = make(values);
      return { data, raw: bytesOf(data), expected: [...data].map((value) => decode(Number(value))) };
    });
  const identity = (value: number) => value;
  const half = (reference: (bits: number) => number, widen: (bits: number) => number) =>
    fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), n), fc.boolean()).map(([bits, asF32]) => {
      const stored = Uint16Array.from(bits);
      // A Float32Array of values each exactly representable must encode back to the same bits.
      const representable = asF32 && bits.every((b) => !Number.isNaN(reference(b)));
      const data = representable ? Float32Array.from(bits, (b) => bitsToF32(widen(b))) : stored;
      return { data, raw: bytesOf(stored), expected: bits.map(reference) };
    });
  switch (dtype) {
    case 'F64':
      return plain(fc.array(fc.double(), n), (v) => Float64Array.from(v), Math.fround);
    case 'F32':
      return plain(fc.array(fc.float(), n), (v) => Float32Array.from(v), identity);
    case 'F16':
      return half(referenceF16, f16BitsToF32Bits);
    case 'BF16':
      return half(referenceBf16, bf16BitsToF32Bits);
    case 'F8_E4M3':
    case 'F8_E5M2': {
      const reference = dtype === 'F8_E4M3' ? referenceF8E4M3 : referenceF8E5M2;
      return plain(fc.array(fc.integer({ min: 0, max: 255 }), n), (v) => Uint8Array.from(v), reference);
    }
    case 'I64':
      return fc.array(int32, n).map((v) => {
        const data = BigInt64Array.from(v, BigInt);
        return { data, raw: bytesOf(data), expected: v };
      });
    case 'U64':
      return fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), n).map((v) => {
        const data = BigUint64Array.from(v, BigInt);
        return { data, raw: bytesOf(data), expected: v };
      });
    case 'I32':
      return plain(fc.array(int32, n), (v) => Int32Array.from(v), identity);
    case 'U32':
      return plain(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), n), (v) => Uint32Array.from(v), identity);
    case 'I16':
      return plain(fc.array(fc.integer({ min: -32768, max: 32767 }), n), (v) => Int16Array.from(v), identity);
    case 'I8':
      return plain(fc.array(fc.integer({ min: -128, max: 127 }), n), (v) => Int8Array.from(v), identity);
    case 'U16':
      return plain(fc.array(fc.integer({ min: 0, max: 0xffff }), n), (v) => Uint16Array.from(v), identity);
    case 'U8':
      return plain(fc.array(fc.integer({ min: 0, max: 255 }), n), (v) => Uint8Array.from(v), identity);
    case 'BOOL':
      return plain(fc.array(fc.integer({ min: 0, max: 1 }), n), (v) => Uint8Array.from(v), identity);
  }
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });

function caseArb(name: string, dtypeArb: fc.Arbitrary<SafetensorsDType>): fc.Arbitrary<Case> {
  return fc.tuple(dtypeArb, shapeArb).chain(([dtype, shape]) =>
    valuesArb(dtype, shape.reduce((a, b) => a * b, 1)).map(({ data, raw, expected }) => ({
      input: { name, dtype, shape, data },
      raw,
      expected,
    })),
  );
}

const namesArb = fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => s !== '__metadata__'), { maxLength: 5 });
const anyDtype = fc.constantFrom(...SAFETENSORS_DTYPES);
const filesArb = fc.record({
  cases: namesArb.chain((names) => fc.tuple(...names.map((name) => caseArb(name, anyDtype)))),
  metadata: fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: undefined }),
  chunkBytes: fc.integer({ min: 1, max: 40 }),
});

async function checkReader(reader: SafetensorsReader, cases: Case[], metadata: Record<string, string> | undefined, chunkBytes: number) {
  assert.equal(reader.headerByteLength % 8, 0, 'header padded to a multiple of 8 bytes');
  // Spread: fast-check's dictionaries have a null prototype, the reader's metadata a plain one.
  assert.deepEqual({ ...reader.metadata }, { ...metadata });
  assert.deepEqual(new Set(reader.names()), new Set(cases.map((c) => c.input.name)));
  for (const { input, raw, expected } of cases) {
    const label = `${input.dtype} ${JSON.stringify(input.name)} [${input.shape.join(',')}]`;
    assert.deepEqual(await reader.readRaw(input.name), raw, `${label} raw bytes`);
    const decoded = await reader.read(input.name);
    assert.equal(decoded.dtype, ENGINE_DTYPE_OF[input.dtype]);
    assert.deepEqual(decoded.shape, [...input.shape]);
    assertSameFloats(decoded.data, expected, label);
    // Small chunks exercise every chunk boundary; the result must not change.
    const chunked = decoded.data.slice() as TypedArray;
    chunked.fill(7);
    await reader.readInto(input.name, chunked, { chunkBytes });
    assertSameFloats(chunked, decoded.data, `${label} readInto`);
    const streamed: number[] = [];
    for await (const chunk of reader.iterateChunks(input.name, chunkBytes)) {
      assert.equal(chunk.elementOffset, streamed.length);
      streamed.push(...chunk.data);
    }
    assertSameFloats(streamed, decoded.data, `${label} iterateChunks`);
  }
}

describe('safetensors round trips', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    temp = await makeTempDir('roundtrip');
  });
  after(async () => {
    await temp.remove();
  });

  it('every dtype survives a file write and read (property, one tensor per file)', async () => {
    for (const dtype of SAFETENSORS_DTYPES) {
      await fc.assert(
        fc.asyncProperty(caseArb('t', fc.constant(dtype)), fc.integer({ min: 1, max: 24 }), async (tensorCase, chunkBytes) => {
          const path = join(temp.dir, `${dtype}.safetensors`);
          await writeSafetensorsFile(path, [tensorCase.input]);
          const reader = await openSafetensorsFile(path);
          try {
            await checkReader(reader, [tensorCase], undefined, chunkBytes);
          } finally {
            await reader.close();
          }
        }),
        { numRuns: 12 },
      );
    }
    assert.deepEqual((await readdir(temp.dir)).filter((name) => name.includes('.tmp-')), [], 'no temporary files left behind');
  });

  it('files of several tensors and metadata survive a file write and read (property)', async () => {
    await fc.assert(
      fc.asyncProperty(filesArb, async ({ cases, metadata, chunkBytes }) => {
        const path = join(temp.dir, 'mixed.safetensors');
        await writeSafetensorsFile(path, cases.map((c) => c.input), metadata);
        const reader = await openSafetensorsFile(path);
        try {
          await checkReader(reader, cases, metadata, chunkBytes);
        } finally {
          await reader.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('in-memory encode and read agree with the file path, from any byte offset (property)', async () => {
    await fc.assert(
      fc.asyncProperty(filesArb, fc.integer({ min: 0, max: 7 }), async ({ cases, metadata, chunkBytes }, shift) => {
        const file = encodeSafetensors(cases.map((c) => c.input), metadata, 'memory');
        // Embedding at an odd offset makes every tensor unaligned, exercising the copy-to-align path.
        const embedded = new Uint8Array(file.length + shift);
        embedded.set(file, shift);
        const reader = await SafetensorsReader.open(new MemoryByteSource(embedded.subarray(shift), 'memory'));
        await checkReader(reader, cases, metadata, chunkBytes);
      }),
      { numRuns: 150 },
    );
  });
});
