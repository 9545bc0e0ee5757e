/**
 * `sparsekit generate --kv-policy NAME --kv-budget B [--sparse-prefill P]` end to end on the
 * fixture model: the policy's numbers after generation, the fallback to full when the budget
 * covers the context, and exit 3 with a clear message for bad policy input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/sparsekit.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../test/fixtures/hf/llama-mha', import.meta.url));

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'generate', MODEL, '--prompt', 'To be, or not to be', '--max-new-tokens', '6', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SPARSEKIT_THREADS: '2' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sparsekit generate with a KV-cache policy', () => {
  it('bad policy input exits 3 with a message naming the problem', () => {
    const cases: [string[], RegExp][] = [
      [['--kv-policy', 'lru', '--kv-budget', '64'], /unknown KV-cache policy 'lru'; known: full, streaming-llm, h2o, snapkv, pyramidkv, quest/],
      [['--kv-policy', 'quest', '--kv-budget', '0'], /KV budget: 0 tokens keeps nothing to attend to/],
      [['--kv-policy', 'quest', '--kv-budget', '0%'], /fraction of 0 keeps nothing/],
      [['--kv-policy', 'quest'], /quest needs a KV budget/],
      [['--kv-budget', '64'], /--kv-budget needs --kv-policy/],
      [['--kv-policy', 'double-sparsity', '--kv-budget', '64'], /--kv-policy double-sparsity needs an offline calibration, which the command line does not run/],
      [['--kv-policy', 'duo-attention', '--kv-budget', '64'], /--kv-policy duo-attention needs an offline calibration/],
      [['--sparse-prefill', 'diagonal'], /unknown sparse-prefill pattern 'diagonal'; known: a-shape, vertical-slash, block-top-k/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      assert.equal(r.status, 3, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('a budget larger than the context falls back to full, says so, and generates as without a policy', () => {
    const plain = run();
    assert.equal(plain.status, 0, plain.stderr);
    const r = run('--kv-policy', 'streaming-llm', '--kv-budget', '1024');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, plain.stdout);
    assert.match(r.stderr, /KV budget 1024 tokens covers the whole context of at most \d+ tokens: streaming-llm falls back to full attention/);
    assert.match(r.stderr, /KV policy streaming-llm \(budget 1024 tokens\): keeps ([\d.]+ \w+) \(keys, values and its metadata; the full cache \1\), reads \1 per decode step; the budget covered the context, layers \[0, 1\] fell back to full attention/);
  });

  it('prints the policy numbers for a fractional budget, and runs block-sparse prefill', () => {
    // 9 prompt tokens: 1/4 of them is 3 (StreamingLLM resolves a fraction against the prompt), so the
    // last decode step, over 4 KV heads x 2 layers, reads 3 positions x 16 channels x 2 (keys, values) x 4 bytes.
    const r = run('--kv-policy', 'streaming-llm', '--kv-budget', '25%', '--sparse-prefill', 'a-shape');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /prompt 9 tokens/);
    assert.match(r.stderr, /KV policy streaming-llm \(budget 0\.25 of the context\): keeps 3\.0 KiB \(keys, values and its metadata; the full cache 14\.0 KiB\), reads 3\.0 KiB per decode step\n/);
    assert.match(r.stderr, /sparse prefill a-shape \(blocks of 64\): 100\.0% of the causal blocks computed/);
    const quest = run('--kv-policy', 'quest', '--kv-budget', '1/16');
    assert.equal(quest.status, 0, quest.stderr);
    assert.match(quest.stderr, /KV policy quest \(budget 0\.0625 of the context\): keeps [\d.]+ \w+ \(keys, values and its metadata; the full cache [\d.]+ \w+\), reads [\d.]+ \w+ per decode step/);
  });
});
