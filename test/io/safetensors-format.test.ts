import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ByteSource } from '../../src/io/byte-source.js';
import { openSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import { MAX_HEADER_BYTES, parseSafetensorsHeader, readHeaderLength } from '../../src/io/safetensors-format.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { assertSafetensorsError, latin1, makeTempDir, safetensorsBytes } from './helpers.js';

const f32 = (shape: number[], begin: number, end: number) =>
  JSON.stringify({ dtype: 'F32', shape, data_offsets: [begin, end] });

interface MalformedCase {
  title: string;
  bytes: Uint8Array;
  pattern: RegExp;
  tensor?: string;
}

const malformed: MalformedCase[] = [
  { title: 'empty file', bytes: new Uint8Array(0), pattern: /0 bytes long.*8-byte little-endian header length/ },
  { title: 'shorter than 8 bytes', bytes: Uint8Array.of(2, 0, 0), pattern: /3 bytes long/ },
  { title: 'header length 0', bytes: safetensorsBytes('', 8), pattern: /header length is 0/ },
  {
    title: 'header length past the end of the file',
    bytes: safetensorsBytes('{}', 0, 100),
    pattern: /header length 100 bytes would end at byte 108, past the end of the 10-byte file/,
  },
  {
    title: 'header length over the 100 MB limit',
    bytes: safetensorsBytes('{}', 0, MAX_HEADER_BYTES + 1),
    pattern: /header length 100000001 bytes exceeds the 100000000-byte limit/,
  },
  {
    title: 'header length near 2^64',
    bytes: safetensorsBytes('{}', 0, 2n ** 64n - 1n),
    pattern: /header length 18446744073709551615 bytes exceeds/,
  },
  { title: 'header not UTF-8', bytes: safetensorsBytes(Uint8Array.of(0x7b, 0xff, 0x7d)), pattern: /not valid UTF-8/ },
  { title: 'header not starting with {', bytes: safetensorsBytes(' {}'), pattern: /must begin with "\{".*0x20/ },
  { title: 'header a JSON array', bytes: safetensorsBytes('[1,2]'), pattern: /must begin with "\{"/ },
  { title: 'header not JSON', bytes: safetensorsBytes('{"a":'), pattern: /not valid JSON/ },
  { title: 'header with garbage after the object', bytes: safetensorsBytes('{} x'), pattern: /not valid JSON/ },
  { title: 'entry not an object', bytes: safetensorsBytes('{"w":5}'), pattern: /must be an object.*found number 5/, tensor: 'w' },
  { title: 'entry null', bytes: safetensorsBytes('{"w":null}'), pattern: /must be an object.*found null/, tensor: 'w' },
  {
    title: 'dtype missing',
    bytes: safetensorsBytes('{"w":{"shape":[1],"data_offsets":[0,4]}}', 4),
    pattern: /unknown dtype nothing \(the key is missing\); expected one of F64, F32/,
    tensor: 'w',
  },
  {
    title: 'unknown dtype',
    bytes: safetensorsBytes('{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}', 4),
    pattern: /unknown dtype string "F128"/,
    tensor: 'w',
  },
  {
    title: 'dtype known to the spec but unsupported',
    bytes: safetensorsBytes('{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}', 1),
    pattern: /dtype "F4" is not supported by sparsekit/,
    tensor: 'w',
  },
  { title: 'lowercase dtype', bytes: safetensorsBytes('{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', 4), pattern: /unknown dtype/, tensor: 'w' },
  { title: 'shape not an array', bytes: safetensorsBytes('{"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}', 16), pattern: /"shape" must be an array.*found number 4/, tensor: 'w' },
  { title: 'negative dimension', bytes: safetensorsBytes(`{"w":${f32([-1], 0, 4)}}`, 4), pattern: /"shape".*\[-1\]/, tensor: 'w' },
  { title: 'fractional dimension', bytes: safetensorsBytes(`{"w":${f32([1.5], 0, 4)}}`, 4), pattern: /"shape"/, tensor: 'w' },
  { title: 'dimension beyond 2^53', bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":[1e300],"data_offsets":[0,1]}}', 1), pattern: /"shape"/, tensor: 'w' },
  { title: 'string dimension', bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}', 1), pattern: /"shape"/, tensor: 'w' },
  { title: 'data_offsets missing', bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":[1]}}', 1), pattern: /"data_offsets" must be \[begin, end\].*nothing/, tensor: 'w' },
  { title: 'data_offsets of three numbers', bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', 1), pattern: /"data_offsets"/, tensor: 'w' },
  { title: 'negative data_offsets', bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', 1), pattern: /"data_offsets"/, tensor: 'w' },
  { title: 'data_offsets begin > end', bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}', 4), pattern: /begin <= end.*\[4,0\]/, tensor: 'w' },
  {
    title: 'shape x dtype size differs from the offsets',
    bytes: safetensorsBytes(`{"w":${f32([2, 3], 0, 20)}}`, 20),
    pattern: /shape \[2, 3\] with dtype F32 needs 24 bytes, but data_offsets \[0, 20\] span 20 bytes/,
    tensor: 'w',
  },
  {
    title: 'element count overflowing 2^53',
    bytes: safetensorsBytes('{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}', 1),
    pattern: /needs \d+ bytes/,
    tensor: 'w',
  },
  {
    title: 'truncated data',
    bytes: safetensorsBytes(`{"w":${f32([4], 0, 16)}}`, 10),
    pattern: /data_offsets \[0, 16\] end past the 10-byte data section \(truncated file\?\)/,
    tensor: 'w',
  },
  {
    title: 'a huge tensor claimed by a tiny file (no allocation happens)',
    bytes: safetensorsBytes(`{"w":${f32([2 ** 40], 0, 2 ** 42)}}`, 4),
    pattern: /end past the 4-byte data section/,
    tensor: 'w',
  },
  {
    title: 'overlapping tensors',
    bytes: safetensorsBytes(`{"a":${f32([2], 0, 8)},"b":${f32([1], 4, 8)}}`, 8),
    pattern: /data_offsets \[4, 8\] overlap tensor "a", which ends at 8/,
    tensor: 'b',
  },
  {
    title: 'two tensors at the same bytes',
    bytes: safetensorsBytes(`{"a":${f32([1], 0, 4)},"b":${f32([1], 0, 4)}}`, 4),
    pattern: /overlap tensor "a"/,
    tensor: 'b',
  },
  {
    title: 'an empty tensor inside another tensor',
    bytes: safetensorsBytes(`{"a":${f32([2], 0, 8)},"e":${f32([0], 4, 4)}}`, 8),
    pattern: /overlap/,
    tensor: 'e',
  },
  {
    title: 'a hole between tensors',
    bytes: safetensorsBytes(`{"a":${f32([1], 0, 4)},"b":${f32([1], 8, 12)}}`, 12),
    pattern: /begin at 8 but the previous tensor ends at 4; bytes \[4, 8\) belong to no tensor/,
    tensor: 'b',
  },
  {
    title: 'a hole at the start',
    bytes: safetensorsBytes(`{"a":${f32([1], 4, 8)}}`, 8),
    pattern: /bytes \[0, 4\) belong to no tensor/,
    tensor: 'a',
  },
  {
    title: 'bytes after the last tensor (polyglot file)',
    bytes: safetensorsBytes(`{"a":${f32([1], 0, 4)}}`, 9),
    pattern: /data section is 9 bytes but tensors cover only \[0, 4\); the 5 trailing bytes belong to no tensor/,
  },
  { title: 'data but no tensors', bytes: safetensorsBytes('{}', 3), pattern: /3 trailing bytes/ },
  {
    title: 'a shape nested 200000 arrays deep (must not overflow the stack while describing it)',
    bytes: safetensorsBytes(`{"w":{"dtype":"U8","shape":${'['.repeat(200_000)}${']'.repeat(200_000)},"data_offsets":[0,0]}}`),
    pattern: /"shape" must be an array of non-negative integers; found array \[\[\[\[\.\.\.\]\]\]\]/,
    tensor: 'w',
  },
  { title: '__metadata__ a string', bytes: safetensorsBytes('{"__metadata__":"x"}'), pattern: /"__metadata__" must be an object.*found string "x"/ },
  { title: '__metadata__ an array', bytes: safetensorsBytes('{"__metadata__":["x"]}'), pattern: /"__metadata__" must be an object.*array/ },
  {
    title: '__metadata__ with a non-string value',
    bytes: safetensorsBytes('{"__metadata__":{"ok":"yes","epoch":3}}'),
    pattern: /"__metadata__" values must be strings.*key "epoch" holds number 3/,
  },
  {
    title: '__metadata__ with a nested object',
    bytes: safetensorsBytes('{"__metadata__":{"cfg":{"a":"b"}}}'),
    pattern: /key "cfg" holds object/,
  },
];

describe('malformed safetensors files', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    temp = await makeTempDir('malformed');
  });
  after(async () => {
    await temp.remove();
  });

  malformed.forEach(({ title, bytes, pattern, tensor }, index) => {
    it(`rejects ${title}`, async () => {
      const path = join(temp.dir, `case-${index}.safetensors`);
      await writeFile(path, bytes);
      await assertSafetensorsError(openSafetensorsFile(path), path, pattern, tensor);
    });
  });

  it('accepts the 100 MB header length itself: the limit is inclusive (no 100 MB allocated)', () => {
    const prefix = safetensorsBytes('', 0, MAX_HEADER_BYTES);
    assert.equal(readHeaderLength(prefix, 8 + MAX_HEADER_BYTES, 'limit.safetensors'), MAX_HEADER_BYTES);
    assert.throws(() => readHeaderLength(safetensorsBytes('', 0, MAX_HEADER_BYTES + 1), 2 ** 40, 'x'), /exceeds/);
  });

  it('refuses an oversized header before reading it, and reads one at the limit', async () => {
    const reads: Array<[number, number]> = [];
    const fakeSource = (declared: number): ByteSource => ({
      name: 'huge.safetensors',
      byteLength: 2 * MAX_HEADER_BYTES,
      async read(offset, length) {
        reads.push([offset, length]);
        if (offset === 0) return safetensorsBytes('', 0, declared);
        throw new Error(`header read of ${length} bytes`);
      },
    });
    await assertSafetensorsError(SafetensorsReader.open(fakeSource(MAX_HEADER_BYTES + 1)), 'huge.safetensors', /exceeds the 100000000-byte limit/);
    assert.deepEqual(reads, [[0, 8]]);
    await assert.rejects(SafetensorsReader.open(fakeSource(MAX_HEADER_BYTES)), /header read of 100000000 bytes/);
    assert.deepEqual(reads.at(-1), [8, MAX_HEADER_BYTES]);
  });

  it('rejects a source that returns fewer bytes than asked for', async () => {
    const file = safetensorsBytes('{}');
    const shortSource: ByteSource = {
      name: 'short.safetensors',
      byteLength: file.length,
      read: async (offset, length) => file.subarray(offset, offset + length - 1),
    };
    await assertSafetensorsError(SafetensorsReader.open(shortSource), 'short.safetensors', /returned 7/);
  });
});

describe('well-formed headers', () => {
  it('parses the unpadded file from the Python test suite (test_deserialization)', () => {
    // bindings/python/tests/test_simple.py in huggingface/safetensors: a 60-byte ("<") header, no padding.
    const file = latin1(
      '<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}' + '\x00'.repeat(16),
    );
    const headerLength = readHeaderLength(file.subarray(0, 8), file.length, 'py.safetensors');
    assert.equal(headerLength, 60);
    const header = parseSafetensorsHeader(file.subarray(8, 8 + headerLength), file.length, 'py.safetensors');
    assert.deepEqual(header, {
      tensors: [{ name: 'test', dtype: 'I32', shape: [2, 2], dataOffsets: [0, 16] }],
      metadata: {},
      headerByteLength: 60,
      dataStart: 68,
    });
  });

  it('parses the space-padded metadata file from the Python test suite (test_deserialization_metadata)', () => {
    const file = latin1(
      'f\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}' +
        ' '.repeat(7) +
        '\x00'.repeat(16),
    );
    const header = parseSafetensorsHeader(file.subarray(8, 8 + 0x66), file.length, 'py.safetensors');
    assert.deepEqual(header.metadata, { framework: 'pt' });
    assert.deepEqual(header.tensors.map((info) => info.name), ['test1']);
    assert.equal(header.dataStart, 8 + 102);
  });

  it('sorts tensors by offset, keeps empty tensors and scalars, and treats "__proto__" as plain data', () => {
    const header = `{"z":${f32([], 0, 4)},"__metadata__":{"__proto__":"kept"},"e":${f32([3, 0], 4, 4)},"__proto__":${f32([0], 4, 4)},"b":${f32([1], 4, 8)},"a":${f32([0], 0, 0)}}   `;
    const file = safetensorsBytes(header, 8);
    const parsed = parseSafetensorsHeader(file.subarray(8, 8 + header.length), file.length, 'ok.safetensors');
    assert.deepEqual(parsed.tensors.map((info) => info.name), ['a', 'z', 'e', '__proto__', 'b']);
    assert.deepEqual(parsed.tensors[1].shape, []);
    assert.equal(Object.getPrototypeOf(parsed.metadata), Object.prototype);
    assert.deepEqual(Object.entries(parsed.metadata), [['__proto__', 'kept']]);
  });

  it('accepts a file with no tensors and no data', () => {
    const file = safetensorsBytes('{}      ');
    const parsed = parseSafetensorsHeader(file.subarray(8), file.length, 'empty.safetensors');
    assert.deepEqual(parsed, { tensors: [], metadata: {}, headerByteLength: 8, dataStart: 16 });
  });
});
