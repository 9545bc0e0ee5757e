/**
 * The sparsekit command end to end: exit codes (0 ok, 2 bad command line, 3 bad input), clear
 * messages for bad input, and the commands on a real fixture model.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/sparsekit.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../test/fixtures/hf/llama-mha', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sparsekit-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, SPARSEKIT_THREADS: '2' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sparsekit CLI', () => {
  it('usage errors exit 2', () => {
    assert.equal(run('frobnicate').status, 2);
    assert.equal(run('generate', MODEL).status, 2); // --prompt is required
    assert.equal(run('generate', MODEL, '--prompt', 'x', '--max-new-tokens', 'many').status, 2);
  });

  it('bad input exits 3 with a message naming the problem', () => {
    const cases: [string[], RegExp][] = [
      [['inspect', join(work, 'missing.safetensors')], /no such file/],
      [['bench', 'nope'], /unknown benchmark suite 'nope'; suites: kernels, decode/],
      [['generate', MODEL, '--prompt', ''], /prompt is empty/],
      [['generate', MODEL, '--prompt', 'Hi', '--max-new-tokens', '0'], /positive integer/],
      [['generate', join(work, 'nowhere'), '--prompt', 'Hi'], /nowhere/],
      [['eval', 'bleu', MODEL, '--text', BIN], /unknown evaluation 'bleu'; evaluations: ppl/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      assert.equal(r.status, 3, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const binary = join(work, 'latin1.txt');
    writeFileSync(binary, Buffer.from([0x66, 0x6f, 0xe9, 0x20, 0xff, 0x0a]));
    const r = run('eval', 'ppl', MODEL, '--text', binary);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /not valid UTF-8/);
    const long = run('generate', MODEL, '--prompt', 'word '.repeat(300), '--max-new-tokens', '2');
    assert.equal(long.status, 3);
    assert.match(long.stderr, /context of 256 tokens/);
  });

  it('generates, evaluates and inspects a model folder', () => {
    const g = run('generate', MODEL, '--prompt', 'To be', '--max-new-tokens', '5');
    assert.equal(g.status, 0, g.stderr);
    assert.ok(g.stdout.startsWith('To be'));
    assert.match(g.stderr, /decode [\d.]+ tokens\/s/);
    const text = join(work, 'text.txt');
    writeFileSync(text, 'First Citizen:\nBefore we proceed any further, hear me speak.\n');
    const json = join(work, 'ppl.json');
    const e = run('eval', 'ppl', MODEL, '--text', text, '--seq-len', '16', '--stride', '8', '--json', json);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /perplexity/);
    const i = run('inspect', MODEL, '--json');
    assert.equal(i.status, 0);
    assert.equal(JSON.parse(i.stdout).totals.tensors, 21);
  });
});
