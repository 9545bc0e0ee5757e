/** The README's library examples run as written, from the repository root. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadModelFolder } from '../../src/models/node/model-folder.js';
import { cpuBackend } from '../helpers/cpu.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sparsekit-examples-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('examples', () => {
  it('examples/prune.mjs prunes the asset model to 2:4, reports perplexities and writes a folder that loads', async () => {
    const out = join(work, 'pruned');
    const r = spawnSync(process.execPath, ['examples/prune.mjs', out], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SPARSEKIT_THREADS: '2' } });
    assert.equal(r.status, 0, r.stderr);
    const [dense, pruned] = [...r.stdout.matchAll(/held-out perplexity ([\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(dense > 10 && dense < 40, `dense perplexity ${dense}`);
    assert.ok(pruned > dense && pruned < 2 * dense, `2:4 perplexity ${pruned} against dense ${dense}`);
    const loaded = await loadModelFolder(out, { backend: await cpuBackend() });
    assert.deepEqual(loaded.source.formats, { 'nm 2:4': 28 });
  });

  it('examples/train-sparse.mjs trains a small LM at 80% RigL sparsity and its held-out loss falls', () => {
    const r = spawnSync(process.execPath, ['examples/train-sparse.mjs', '30'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SPARSEKIT_THREADS: '2' } });
    assert.equal(r.status, 0, r.stderr);
    const before = Number(/loss before: ([\d.]+)/.exec(r.stdout)?.[1]);
    const after = Number(/loss after 30 steps: ([\d.]+)/.exec(r.stdout)?.[1]);
    assert.ok(before > 5 && after < before - 1, `held-out loss ${before} -> ${after}`);
    assert.match(r.stdout, /sparsity 80\.0%/);
  });
});
