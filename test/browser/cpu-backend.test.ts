/**
 * The CPU backend in a browser (headless Chromium): module Web Workers for threads in a
 * cross-origin isolated page, one thread and unshared memory otherwise; kernels against their
 * references on the same inputs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BrowserPage, openBrowserPage } from '../helpers/browser.js';

interface PageResult {
  isolated: boolean;
  threads: number;
  simd: string;
  errors: Record<string, number>;
}

/** Runs in the page: builds the backend and compares a few kernels with their references. */
async function checkCpuBackendInPage(): Promise<PageResult> {
  const root = '/dist/src';
  const { createCpuBackend } = await import(`${root}/backends/cpu/browser/index.js`);
  const ops = await import(`${root}/core/ops.js`);
  const { CsrMatrix } = await import(`${root}/sparse/csr.js`);
  const { NmMatrix } = await import(`${root}/sparse/nm.js`);
  const { linear } = await import(`${root}/sparse/linear.js`);
  const { Random } = await import(`${root}/core/random.js`);
  const { matmulReference } = await import(`${root}/backends/cpu/reference/matmul.js`);
  const { linearCsrReference, linearNmReference } = await import(`${root}/backends/cpu/reference/sparse-linear.js`);
  const { softmaxReference } = await import(`${root}/backends/cpu/reference/normalization.js`);
  const cpu = await createCpuBackend();
  const rng = new Random(3);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const err = (got: ArrayLike<number>, want: ArrayLike<number>) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < want.length; i++) {
      num = Math.max(num, Math.abs(got[i] - want[i]));
      den = Math.max(den, Math.abs(want[i]));
    }
    return num / (den || 1);
  };
  const errors: Record<string, number> = {};
  const [M, N, K] = [37, 300, 260];
  const a = rand(M * K);
  const b = rand(N * K);
  const want = new Float32Array(M * N);
  matmulReference(a, [M, K], b, [N, K], want, [], M, N, K, false, true);
  errors.matmul = err(ops.matmul(ops.tensor(a, [M, K], 'f32', cpu), ops.tensor(b, [N, K], 'f32', cpu), { transposeB: true }).readSync(), want);
  const sparse = b.map((v: number, i: number) => (i % 7 === 0 ? v : 0));
  const csr = CsrMatrix.fromDense(sparse, N, K, cpu);
  for (const batch of [1, 5]) {
    const x = rand(batch * K);
    errors[`csr batch ${batch}`] = err(linear(ops.tensor(x, [batch, K], 'f32', cpu), csr).readSync(), linearCsrReference(x, batch, csr.readArraysSync()));
  }
  const nm = NmMatrix.fromDenseByMagnitude(b, N, K, 2, 4, cpu);
  const x1 = rand(K);
  errors['2:4 batch 1'] = err(linear(ops.tensor(x1, [1, K], 'f32', cpu), nm).readSync(), linearNmReference(x1, 1, nm.readArraysSync()));
  const logits = rand(64 * 500).map((v: number) => v * 20);
  const p = new Float32Array(logits.length);
  softmaxReference(logits, p, 64, 500, 1, false);
  errors.softmax = err(ops.softmax(ops.tensor(logits, [64, 500], 'f32', cpu)).readSync(), p);
  const result = { isolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true, threads: cpu.pool.threads, simd: cpu.simd, errors };
  cpu.dispose();
  return result;
}

for (const isolated of [true, false]) {
  describe(`CPU backend in Chromium (${isolated ? 'cross-origin isolated: worker threads' : 'not isolated: one thread'})`, () => {
    let browser: BrowserPage;
    before(async () => {
      browser = await openBrowserPage(isolated);
    });
    after(() => browser?.close());

    it('runs the WebAssembly kernels and matches the references', async () => {
      const result = await browser.evaluate(checkCpuBackendInPage, undefined);
      assert.equal(result.isolated, isolated);
      if (isolated) assert.ok(result.threads >= 2, `expected worker threads, got ${result.threads}`);
      else assert.equal(result.threads, 1);
      for (const [name, e] of Object.entries(result.errors)) assert.ok(e <= 1e-5, `${name}: relative error ${e}`);
    });
  });
}
