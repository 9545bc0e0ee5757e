/**
 * TokenSelect votes with the backend's q.k kernel (DecodeQuery.logits, PolicyKVCache on the CPU
 * backend) and with its host loop: the same tokens at every decode step, and the kernel runs once
 * per vote.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PolicyKVCache } from '../../src/attention/policy-cache.js';
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
function run(backend: CpuBackend): number[][] {
  const cache = new PolicyKVCache(shape, createPolicy('token-select', { budget: 24, sinks: 2, recent: 6, similarityThreshold: 0.5 }), backend);
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

describe('TokenSelect with the backend q.k kernel', () => {
  let cpu: CpuBackend;
  before(async () => {
    cpu = (await cpuBackend()) as CpuBackend;
  });

  it('selects the same tokens as the host loop, calling the kernel once per vote', () => {
    const kernel = cpu.queryKeyLogits.bind(cpu);
    let calls = 0;
    const spied = cpu as unknown as { queryKeyLogits: CpuBackend['queryKeyLogits'] | undefined };
    spied.queryKeyLogits = (q, k, length) => {
      calls++;
      return kernel(q, k, length);
    };
    let withKernel: number[][];
    let onHost: number[][];
    try {
      withKernel = run(cpu);
      spied.queryKeyLogits = undefined;
      onHost = run(cpu);
    } finally {
      delete (spied as { queryKeyLogits?: unknown }).queryKeyLogits;
    }
    assert.deepEqual(withKernel, onHost);
    // Random queries drift apart: most steps vote, some reuse (threshold 0.5).
    assert.ok(calls > 0 && calls <= 30, `kernel calls ${calls}`);
  });
});
