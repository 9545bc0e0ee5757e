import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { openSafetensorsFile, writeSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import { encodeSafetensors, type SafetensorsTensorInput } from '../../src/io/safetensors-encode.js';
import type { SafetensorsDType } from '../../src/io/safetensors-format.js';
import { assertSafetensorsError, latin1, makeTempDir } from './helpers.js';

// Expected bytes are copied from bindings/python/tests/test_simple.py in huggingface/safetensors,
// i.e. what Python's safetensors writes for the same tensors.
const PYTHON_ZEROS_I32 = latin1(
  '@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}   ' + ' ' + '\x00'.repeat(16),
);
const PYTHON_ONE_I32 = latin1(
  '@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ' + '\x00'.repeat(12) + '\x01\x00\x00\x00',
);
const PYTHON_ALIGNED = latin1(
  '\x80\x00\x00\x00\x00\x00\x00\x00{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}' +
    ' '.repeat(6) +
    '\x00'.repeat(24),
);
const PYTHON_METADATA = latin1(
  '`\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}} ' + '\x00'.repeat(16),
);

describe('writeSafetensorsFile', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let count = 0;
  before(async () => {
    temp = await makeTempDir('writer');
  });
  beforeEach(async () => {
    dir = join(temp.dir, `t${count++}`);
    await mkdir(dir);
  });
  after(async () => {
    await temp.remove();
  });

  it('writes exactly the bytes Python safetensors writes', async () => {
    const path = join(dir, 'a.safetensors');
    await writeSafetensorsFile(path, [{ name: 'test', dtype: 'I32', shape: [2, 2], data: new Int32Array(4) }]);
    assert.deepEqual(new Uint8Array(await readFile(path)), PYTHON_ZEROS_I32);
    await writeSafetensorsFile(path, [{ name: 'test', dtype: 'I32', shape: [2, 2], data: Int32Array.of(0, 0, 0, 1) }]);
    assert.deepEqual(new Uint8Array(await readFile(path)), PYTHON_ONE_I32);
    await writeSafetensorsFile(path, [{ name: 'test1', dtype: 'I32', shape: [2, 2], data: new Int32Array(4) }], { framework: 'pt' });
    assert.deepEqual(new Uint8Array(await readFile(path)), PYTHON_METADATA);
  });

  it('lays tensors out like Python whatever the input order (test_serialization_forces_alignment)', async () => {
    const i32: SafetensorsTensorInput = { name: 'test1', dtype: 'I32', shape: [2, 2], data: new Int32Array(4) };
    const f16: SafetensorsTensorInput = { name: 'test2', dtype: 'F16', shape: [2, 2], data: new Float32Array(4) };
    const path = join(dir, 'aligned.safetensors');
    await writeSafetensorsFile(path, [f16, i32]);
    assert.deepEqual(new Uint8Array(await readFile(path)), PYTHON_ALIGNED);
    assert.deepEqual(encodeSafetensors([i32, f16]), PYTHON_ALIGNED);
  });

  it('reads back the files Python writes', async () => {
    const path = join(dir, 'py.safetensors');
    await writeFile(path, PYTHON_ONE_I32);
    const reader = await openSafetensorsFile(path);
    try {
      assert.deepEqual(await reader.read('test'), { dtype: 'i32', shape: [2, 2], data: Int32Array.of(0, 0, 0, 1) });
      assert.deepEqual(reader.tensors(), [{ name: 'test', dtype: 'I32', shape: [2, 2], dataOffsets: [0, 16] }]);
    } finally {
      await reader.close();
    }
  });

  it('round-trips metadata, scalars, empty tensors and a file with no tensors', async () => {
    const path = join(dir, 'm.safetensors');
    const metadata: Record<string, string> = { format: 'pt', 'clé ✓': 'värde 🚀', empty: '' };
    // An own "__proto__" key (as JSON.parse would create) must round-trip as plain data.
    Object.defineProperty(metadata, '__proto__', { value: 'own key', enumerable: true });
    await writeSafetensorsFile(
      path,
      [
        { name: 'scalar', dtype: 'F64', shape: [], data: Float64Array.of(Math.PI) },
        { name: 'empty', dtype: 'F32', shape: [3, 0, 2], data: new Float32Array(0) },
        { name: 'flags', dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) },
      ],
      metadata,
    );
    const reader = await openSafetensorsFile(path);
    try {
      assert.deepEqual(Object.entries(reader.metadata).sort(), Object.entries(metadata).sort());
      assert.deepEqual(await reader.read('scalar'), { dtype: 'f32', shape: [], data: Float32Array.of(Math.fround(Math.PI)) });
      assert.deepEqual(await reader.read('empty'), { dtype: 'f32', shape: [3, 0, 2], data: new Float32Array(0) });
      assert.deepEqual(await reader.read('flags'), { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) });
    } finally {
      await reader.close();
    }
    await writeSafetensorsFile(path, []);
    assert.deepEqual(new Uint8Array(await readFile(path)), latin1('\x08\x00\x00\x00\x00\x00\x00\x00{}      '));
  });

  it('leaves no file and no temporary file when the data does not match the shape', async () => {
    const path = join(dir, 'bad.safetensors');
    await assertSafetensorsError(
      writeSafetensorsFile(path, [
        { name: 'ok', dtype: 'U8', shape: [2], data: Uint8Array.of(1, 2) },
        { name: 'w', dtype: 'F32', shape: [2, 3], data: new Float32Array(5) },
      ]),
      path,
      /shape \[2, 3\] needs 6 elements, but the Float32Array holds 5/,
      'w',
    );
    await assertSafetensorsError(
      writeSafetensorsFile(path, [{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(7) }]),
      path,
      /needs 8 bytes, but the Uint8Array holds 7/,
      'w',
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('removes the temporary file and keeps the old file when writing fails midway', async () => {
    const path = join(dir, 'model.safetensors');
    await writeFile(path, 'previous contents');
    // The BOOL check runs as the bytes stream, after the big F64 tensor has been written.
    await assertSafetensorsError(
      writeSafetensorsFile(
        path,
        [
          { name: 'big', dtype: 'F64', shape: [4096], data: new Float64Array(4096) },
          { name: 'mask', dtype: 'BOOL', shape: [4], data: Uint8Array.of(1, 0, 2, 1) },
        ],
        undefined,
        { chunkBytes: 1024 },
      ),
      path,
      /BOOL element 2 is 2; BOOL bytes must be 0 or 1/,
      'mask',
    );
    assert.deepEqual(await readdir(dir), ['model.safetensors']);
    assert.equal(await readFile(path, 'utf8'), 'previous contents');
  });

  it('removes the temporary file when the final rename fails', async () => {
    const path = join(dir, 'occupied');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'x');
    await assertSafetensorsError(
      writeSafetensorsFile(path, [{ name: 'w', dtype: 'U8', shape: [1], data: Uint8Array.of(1) }]),
      path,
      /write failed/,
    );
    assert.deepEqual(await readdir(dir), ['occupied']);
    assert.ok((await stat(path)).isDirectory());
  });

  it('rejects bad requests before creating anything, naming the file and tensor', async () => {
    const path = join(dir, 'x.safetensors');
    const tensor = (overrides: Partial<SafetensorsTensorInput>): SafetensorsTensorInput => ({
      name: 'w',
      dtype: 'F32',
      shape: [1],
      data: new Float32Array(1),
      ...overrides,
    });
    const cases: Array<[SafetensorsTensorInput[], RegExp, string?]> = [
      [[tensor({ dtype: 'F17' as SafetensorsDType })], /unknown dtype "F17"/, 'w'],
      [[tensor({}), tensor({})], /appears twice/, 'w'],
      [[tensor({ name: '__metadata__' })], /reserved/, '__metadata__'],
      [[tensor({ name: 'bad\ud800' })], /valid Unicode/, 'bad\ud800'],
      [[tensor({ shape: [-1] })], /shape must be an array of non-negative integers/, 'w'],
      [[tensor({ shape: [0.5] })], /shape must be/, 'w'],
      [[tensor({ data: new Int32Array(1) })], /data is a Int32Array; dtype F32 takes Float32Array or Uint8Array/, 'w'],
      [[tensor({ dtype: 'I64', data: new Int32Array(1) })], /dtype I64 takes BigInt64Array/, 'w'],
      [[tensor({ dtype: 'BF16', data: new Float64Array(1) })], /takes Float32Array or Uint16Array or Uint8Array/, 'w'],
    ];
    for (const [tensors, pattern, name] of cases) {
      await assertSafetensorsError(writeSafetensorsFile(path, tensors), path, pattern, name);
    }
    await assertSafetensorsError(
      writeSafetensorsFile(path, [tensor({})], { epoch: 3 } as unknown as Record<string, string>),
      path,
      /metadata "epoch" must map to a string/,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('encodes F16 and BF16 from a Float32Array with round-to-nearest-even', async () => {
    const path = join(dir, 'half.safetensors');
    const values = Float32Array.of(1 + 2 ** -11, 65520, 1 + 3 * 2 ** -8);
    await writeSafetensorsFile(path, [
      { name: 'h', dtype: 'F16', shape: [3], data: values },
      { name: 'b', dtype: 'BF16', shape: [3], data: values },
    ]);
    const reader = await openSafetensorsFile(path);
    try {
      assert.deepEqual([...new Uint16Array((await reader.readRaw('h')).slice().buffer)], [0x3c00, 0x7c00, 0x3c0c]);
      assert.deepEqual([...new Uint16Array((await reader.readRaw('b')).slice().buffer)], [0x3f80, 0x4780, 0x3f82]);
    } finally {
      await reader.close();
    }
  });
});
