/**
 * Policies that score with the backend's q.k kernel (DecodeQuery.logits, PolicyKVCache on the CPU
 * backend) and with their host loops: TokenSelect's votes and H2O's accumulated attention give
 * the same tokens at every decode step.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PolicyKVCache } from '../../src/attention/policy-cache.js';
import { accumulatedAttention } from '../../src/attention/select.js';
import { createPolicy } from '../../src/attention/registry.js';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { tensor } from '../../src/core/ops.js';
import { cpuBackend } from '../helpers/cpu.js';
import { randomArray } from './helpers.js';

const heads = 6;
const kvHeads = 2;
const d = 8;
const shape = { layers: 1, kvHeads: [kvHeads], headDim: d, capacity: 160 };
const keys = randomArray(160 * kvHeads * d, 3);
const values = randomArray(160 * kvHeads * d, 4);
const queries = randomArray(160 * heads * d, 5);
const rows = (data: Float32Array, from: number, to: number, width: number) => data.slice(from * width, to * width);

/** Prefill 120 positions, then 30 decode steps; the selected positions of each step. */
function run(backend: CpuBackend, policy = 'token-select', options: Record<string, unknown> = { budget: 24, sinks: 2, recent: 6, similarityThreshold: 0.5 }): number[][] {
  const cache = new PolicyKVCache(shape, createPolicy(policy, options), backend);
  const put = (from: number, to: number) => {
    cache.append(0, tensor(rows(keys, from, to, kvHeads * d), [to - from, kvHeads, d], 'f32', backend), tensor(rows(values, from, to, kvHeads * d), [to - from, kvHeads, d], 'f32', backend));
    return cache.select(0, to - 1, tensor(rows(queries, from, to, heads * d), [to - from, heads, d], 'f32', backend));
  };
  put(0, 120);
  cache.commit(120);
  const selections: number[][] = [];
  for (let p = 120; p < 150; p++) {
    const selected = put(p, p + 1);
    assert.ok(selected, `step ${p} should select`);
    selections.push([...(selected.readSync() as Int32Array)]);
    cache.commit(1);
  }
  cache.dispose();
  return selections;
}

/**
 * `selections()` with the backend's queryKeyLogits (counting its calls), then with the backend
 * made to lack it (policies score on the host); the backend is restored afterwards.
 */
function withAndWithoutKernel(cpu: CpuBackend, selections: () => number[][]): { withKernel: number[][]; onHost: number[][]; calls: number } {
  const kernel = cpu.queryKeyLogits.bind(cpu);
  let calls = 0;
  const spied = cpu as unknown as { queryKeyLogits: CpuBackend['queryKeyLogits'] | undefined };
  spied.queryKeyLogits = (q, k, length) => {
    calls++;
    return kernel(q, k, length);
  };
  try {
    const withKernel = selections();
    spied.queryKeyLogits = undefined;
    return { withKernel, onHost: selections(), calls };
  } finally {
    delete (spied as { queryKeyLogits?: unknown }).queryKeyLogits;
  }
}

describe('TokenSelect and H2O with the backend q.k kernel', () => {
  let cpu: CpuBackend;
  before(async () => {
    cpu = (await cpuBackend()) as CpuBackend;
  });

  it('selects the same tokens as the host loop, calling the kernel once per vote', () => {
    const { withKernel, onHost, calls } = withAndWithoutKernel(cpu, () => run(cpu));
    assert.deepEqual(withKernel, onHost);
    // Random queries drift apart: most steps vote, some reuse (threshold 0.5).
    assert.ok(calls > 0 && calls <= 30, `kernel calls ${calls}`);
  });

  it('gives accumulatedAttention (H2O\'s decode scores) the host dot products\' values', () => {
    const length = 90;
    const keyData = keys.slice(0, 160 * kvHeads * d);
    const query = queries.slice(0, heads * d).map((v) => 4 * v);
    const visible = [Int32Array.from({ length: 50 }, (_, i) => 2 * i - (i > 44 ? 1 : 0)).filter((p) => p < length), Int32Array.from({ length: 30 }, (_, i) => 3 * i)];
    const logits = cpu.queryKeyLogits(tensor(query, [heads, d], 'f32', cpu), tensor(keyData, [160, kvHeads, d], 'f32', cpu), length).readSync() as Float32Array;
    const layerKeys = { data: keyData, length, kvHeads, headDim: d };
    const onHost = accumulatedAttention(layerKeys, query, heads, [0, 1], length - 1, visible);
    const withLogits = accumulatedAttention(layerKeys, query, heads, [0, 1], length - 1, visible, logits);
    for (let g = 0; g < kvHeads; g++) {
      for (let p = 0; p < length; p++) assert.ok(Math.abs(withLogits[g][p] - onHost[g][p]) <= 1e-6, `KV head ${g}, position ${p}: ${withLogits[g][p]} vs ${onHost[g][p]}`);
    }
  });

  it('gives H2O the same heavy hitters as its host dot products', () => {
    const { withKernel, onHost, calls } = withAndWithoutKernel(cpu, () => run(cpu, 'h2o', { budget: 40 }));
    assert.deepEqual(withKernel, onHost);
    assert.equal(calls, 30, 'one q.k per decode step');
  });
});
