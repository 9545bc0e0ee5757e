/** The WebGPU backend's Node entry and its errors; on a machine without a GPU, creation must fail cleanly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { SparsekitError } from '../../src/core/errors.js';
import * as ops from '../../src/core/ops.js';

function assertWebGpuError(e: unknown): true {
  assert.ok(e instanceof SparsekitError, `expected a SparsekitError, got ${String(e)}`);
  assert.equal(e.code, 'E_WEBGPU');
  assert.match(e.message, /webgpu/i);
  return true;
}

test('createNodeWebGpuBackend works or throws E_WEBGPU', async (t) => {
  let backend;
  try {
    backend = await createNodeWebGpuBackend();
  } catch (e) {
    assertWebGpuError(e);
    t.diagnostic(`no WebGPU here: ${(e as Error).message}`);
    return;
  }
  try {
    t.diagnostic(`adapter: ${backend.adapterInfo}`);
    const y = ops.add(ops.tensor([1, 2, 3], [3], 'f32', backend), ops.tensor([10, 20, 30], [3], 'f32', backend));
    assert.deepEqual(Array.from(await y.read()), [11, 22, 33]);
  } finally {
    backend.dispose();
  }
});

test('createWebGpuBackend without navigator.gpu throws E_WEBGPU', async () => {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav?.gpu) return; // a runtime with WebGPU: nothing to check here
  await assert.rejects(createWebGpuBackend(), assertWebGpuError);
});

test('createWebGpuBackend with no adapter, or a failing one, throws E_WEBGPU', async () => {
  await assert.rejects(createWebGpuBackend({ gpu: { requestAdapter: async () => null } as unknown as GPU }), assertWebGpuError);
  const failing = { requestAdapter: async () => Promise.reject(new Error('driver crashed')) } as unknown as GPU;
  await assert.rejects(createWebGpuBackend({ gpu: failing }), (e) => assertWebGpuError(e) && /driver crashed/.test((e as Error).message));
});
