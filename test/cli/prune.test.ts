/** `sparsekit prune` end to end on a fixture model: outputs, reports and bad input. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadModelFolder } from '../../src/models/node/model-folder.js';
import { disposeDecoderWeights } from '../../src/models/decoder-weights.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { cpuBackend } from '../helpers/cpu.js';

const BIN = fileURLToPath(new URL('../../../bin/sparsekit.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../test/fixtures/hf/llama-mha', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sparsekit-prune-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(async () => {
  await cpuBackend();
});

const reference = JSON.parse(readFileSync(join(MODEL, 'reference.json'), 'utf8')) as { prompt_text: string; tokenizer_check: { text: string } };
const calib = join(work, 'calib.txt');
writeFileSync(calib, `${reference.prompt_text}\n${reference.tokenizer_check.text}\n`.repeat(4));

function prune(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'prune', MODEL, ...args], { encoding: 'utf8', env: { ...process.env, SPARSEKIT_THREADS: '2' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Report {
  layers: { name: string; sparsity: number; format: string }[];
  before: { fileBytes: number };
  after: { fileBytes: number; perplexity: number | null };
}

describe('sparsekit prune', () => {
  it('prunes by magnitude without calibration and writes a loadable sparse folder with a report', async () => {
    const out = join(work, 'magnitude');
    const report = join(work, 'magnitude.json');
    const r = prune('--method', 'magnitude', '--sparsity', '0.5', '--out', out, '--report', report, '--eval-text', calib);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /before/);
    const rep = JSON.parse(readFileSync(report, 'utf8')) as Report;
    assert.equal(rep.layers.length, 14);
    // 50% unstructured: bitmap rows (CSR only above 60% sparsity).
    for (const l of rep.layers) {
      assert.equal(l.sparsity, 0.5, l.name);
      assert.equal(l.format, 'bitmap', l.name);
    }
    assert.ok(rep.after.perplexity !== null && rep.after.perplexity > 0);
    assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'tokenizer.json')));
    const loaded = await loadModelFolder(out, { tokenizer: false });
    assert.deepEqual(loaded.source.formats, { bitmap: 14, dense: 1 });
    for (const [i, layer] of loaded.weights.layers.entries()) {
      for (const key of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) {
        const w = layer[key].weight;
        assert.ok(w instanceof BitmapMatrix, `layer ${i} ${key}: ${String(w)}`);
        assert.equal(w.sparsity(), 0.5, `layer ${i} ${key}`);
      }
    }
    disposeDecoderWeights(loaded.weights);
  });

  it('prunes with Wanda to 2:4 on calibration text', () => {
    const out = join(work, 'wanda24');
    const report = join(work, 'wanda24.json');
    const r = prune('--method', 'wanda', '--sparsity', '0.5', '--pattern', '2:4', '--calib', calib, '--calib-sequences', '4', '--calib-length', '32', '--out', out, '--report', report);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(readFileSync(report, 'utf8')) as Report;
    assert.ok(rep.layers.every((l) => l.format === 'nm 2:4' && l.sparsity === 0.5));
    assert.ok(rep.after.fileBytes < rep.before.fileBytes);
  });

  it('removes whole MLP channels into a smaller dense model', () => {
    const out = join(work, 'channels');
    const r = prune('--method', 'wanda', '--sparsity', '0.25', '--pattern', 'channels', '--calib', calib, '--calib-sequences', '4', '--calib-length', '32', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { intermediate_size: number };
    assert.equal(config.intermediate_size, 120);
  });

  it('rejects bad input with a message naming the problem, and leaves nothing half-written', () => {
    const out = join(work, 'bad');
    const cases: [string[], RegExp][] = [
      [['--method', 'magnitude', '--sparsity', '1'], /sparsity must be in \[0, 1\)/],
      [['--method', 'magnitude', '--sparsity', '-0.1'], /sparsity must be in \[0, 1\)/],
      [['--method', 'prune-it', '--sparsity', '0.5'], /expected one of "magnitude"\|"random"\|"wanda"\|"sparsegpt"/],
      [['--method', 'magnitude', '--sparsity', '0.5', '--pattern', '4:2'], /N must be smaller than M/],
      [['--method', 'magnitude', '--sparsity', '0.5', '--allocation', 'fair'], /expected one of "uniform"\|"global"\|"erk"\|"owl"\|"evo"\|"cfsp"/],
      [['--method', 'magnitude', '--sparsity', '0.6667', '--pattern', '1:3'], /not divisible by M = 3/],
      [['--method', 'wanda', '--sparsity', '0.5'], /pass --calib FILE/],
      [['--method', 'wanda', '--sparsity', '0.5', '--calib', calib, '--calib-length', '100000'], /100000-token windows need at least 100001/],
    ];
    for (const [args, message] of cases) {
      const r = prune(...args, '--out', out);
      assert.equal(r.status, 3, `${args.join(' ')}: exit ${r.status} ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(out), `${args.join(' ')} left ${out}`);
    }
    const existing = join(work, 'magnitude');
    const r = prune('--method', 'magnitude', '--sparsity', '0.5', '--out', existing);
    assert.equal(r.status, 3);
    // The early refusal (before loading and pruning) says --force; the writer's own check says force.
    assert.match(r.stderr, /already exists; pass --force/);
    const recipe = join(work, 'recipe.yaml');
    writeFileSync(recipe, 'steps:\n  - method: wanda\n    sparsty: 0.5\n');
    const bad = prune('--recipe', recipe, '--out', out);
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /steps.0.sparsity/);
    assert.match(bad.stderr, /Unrecognized key: "sparsty"/);
    // No temporary folders left beside the outputs.
    assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('.')), []);
  });
});
