/**
 * The WebGPU backend in headless Chromium on SwiftShader (a CPU implementation of WebGPU), against
 * the CPU references. The checks run in the page (page-suite.ts); the tolerances are asserted here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openBrowserPage } from '../helpers/browser.js';
import type { CaseResult, Check } from './page-suite.js';

const SUITE = '/dist/test/webgpu/page-suite.js';

/** Norm-wise relative error (test/helpers/numeric.ts) allowed for every float kernel, matmul with K > 256 included. */
const TOLERANCE = 1e-5;

function assertCheck(check: Check): void {
  assert.equal(check.failure, undefined, `${check.what}: ${check.failure}`);
  if (check.expected !== undefined) assert.equal(check.thrown, check.expected, `${check.what}: expected ${check.expected}, got ${check.thrown}`);
  if (check.error !== undefined) assert.ok(check.error <= TOLERANCE, `${check.what}: relative error ${check.error.toExponential(2)} > ${TOLERANCE}`);
  if (check.mismatches !== undefined) assert.equal(check.mismatches, 0, `${check.what}: ${check.mismatches} elements differ`);
}

test('webgpu backend in Chromium (SwiftShader) matches the CPU references', { timeout: 180_000 }, async (t) => {
  const browser = await openBrowserPage();
  try {
    const adapter = await browser.evaluate(async (url) => (await import(url)).backendInfo() as Promise<string>, SUITE);
    t.diagnostic(`adapter: ${adapter}`);
    const names = await browser.evaluate(async (url) => (await import(url)).CASE_NAMES as string[], SUITE);
    for (const name of names) {
      await t.test(name, async (st) => {
        const result = await browser.evaluate(
          async ([url, caseName]) => (await import(url)).runCase(caseName) as Promise<CaseResult>,
          [SUITE, name] as const,
        );
        const worst = Math.max(0, ...result.checks.map((c) => c.error ?? 0));
        st.diagnostic(`${result.checks.length} checks, worst relative error ${worst.toExponential(2)}, ${result.ms} ms`);
        for (const check of result.checks) assertCheck(check);
      });
    }
    const pipelines = await browser.evaluate(async (url) => (await import(url)).pipelineCount() as Promise<number>, SUITE);
    t.diagnostic(`${pipelines} shader variants compiled`);
  } catch (e) {
    if (browser.log.length) t.diagnostic(`browser console:\n${browser.log.slice(-20).join('\n')}`);
    throw e;
  } finally {
    await browser.close();
  }
});
