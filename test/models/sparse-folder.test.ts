/**
 * A model folder whose Linears are stored in sparse formats (docs/sparse-checkpoint.md) loads,
 * runs through the sparse kernels, and gives the logits of the same weights stored densely.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import { DecoderModel } from '../../src/models/llama.js';
import { loadModelFolder } from '../../src/models/node/model-folder.js';
import { saveModelFolder } from '../../src/models/node/save-model-folder.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import { NmMatrix } from '../../src/sparse/nm.js';
import { formatOf } from '../../src/sparse/linear.js';
import type { Tensor } from '../../src/core/tensor.js';
import { tensor } from '../../src/core/ops.js';
import { assertClose } from '../helpers/numeric.js';
import { cpuBackend } from '../helpers/cpu.js';

const SOURCE = fileURLToPath(new URL('../../../test/fixtures/hf/llama-mha', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sparsekit-sparse-folder-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(async () => {
  await cpuBackend();
});

/** Zeroes all but every third weight (67% sparse): an unstructured pattern for CSR. */
const thin = (w: Float32Array) => w.map((v, i) => (i % 3 === 0 ? v : 0));
/** Zeroes every second weight (50% sparse): an unstructured pattern a bitmap holds. */
const half = (w: Float32Array) => w.map((v, i) => (i % 2 === 0 ? v : 0));

describe('sparse model folders', () => {
  it('load into the sparse formats and match the dense-stored equivalent', async () => {
    const config = JSON.parse(readFileSync(join(SOURCE, 'config.json'), 'utf8')) as Record<string, unknown>;
    const reader = await openSafetensorsFile(join(SOURCE, 'model.safetensors'));
    const sparse = new Map<string, Tensor | CsrMatrix | NmMatrix | BsrMatrix>();
    try {
      for (const info of reader.tensors()) {
        const data = (await reader.read(info.name)).data as Float32Array;
        const [rows, cols] = info.shape;
        if (/self_attn\.q_proj/.test(info.name)) sparse.set(info.name, CsrMatrix.fromDense(half(data), rows, cols));
        else if (/self_attn\.k_proj/.test(info.name)) sparse.set(info.name, CsrMatrix.fromDense(thin(data), rows, cols));
        else if (/mlp\./.test(info.name)) sparse.set(info.name, NmMatrix.fromDenseByMagnitude(data, rows, cols, 2, 4));
        else if (/self_attn\.o_proj/.test(info.name)) sparse.set(info.name, BsrMatrix.fromDense(thin(data), rows, cols, 16, 16));
        else sparse.set(info.name, tensor(data, info.shape));
      }
    } finally {
      await reader.close();
    }
    const sparseDir = join(work, 'sparse');
    const denseDir = join(work, 'dense');
    await saveModelFolder(sparseDir, { config, weights: sparse, tokenizerFrom: SOURCE });
    await saveModelFolder(denseDir, { config, weights: sparse, tokenizerFrom: SOURCE, storeDense: true });
    const a = await loadModelFolder(sparseDir);
    const b = await loadModelFolder(denseDir);
    // The CSR weights go to disk as bitmaps (smaller). By default q (one weight in two kept, 50%
    // sparse: <= 60%) loads as a bitmap and k (one in three kept, 67% sparse: > 60%) as CSR; both
    // load as CSR when asked to.
    assert.deepEqual(a.source.formats, { bitmap: 4, 'nm 2:4': 6, 'bsr 16x16': 2, dense: 3 });
    assert.equal(formatOf(a.weights.layers[0].q.weight), 'bitmap');
    assert.equal(formatOf(a.weights.layers[1].q.weight), 'bitmap');
    assert.equal(formatOf(a.weights.layers[0].k.weight), 'csr');
    assert.equal(formatOf(a.weights.layers[1].k.weight), 'csr');
    const c = await loadModelFolder(sparseDir, { unstructuredFormat: 'csr' });
    assert.equal(formatOf(c.weights.layers[0].q.weight), 'csr');
    assert.equal(formatOf(c.weights.layers[1].k.weight), 'csr');
    assert.equal(formatOf(a.weights.layers[0].gate.weight), 'nm');
    assert.equal(formatOf(b.weights.layers[0].gate.weight), 'dense');
    assert.ok(a.source.bytes < b.source.bytes * 0.8, `sparse folder ${a.source.bytes} bytes vs dense ${b.source.bytes}`);
    const ids = [1, 40, 41, 52, 7, 9, 100, 200, 3, 77];
    const logits = (loaded: typeof a) => {
      const model = new DecoderModel(loaded.config, loaded.weights);
      const cache = model.createCache(ids.length);
      return model.forward([{ tokens: ids, cache }], { allLogits: true }).readSync();
    };
    const dense = logits(b);
    assertClose(logits(a), dense, 1e-5, 'sparse (bitmap and CSR) vs dense-stored logits');
    assertClose(logits(c), dense, 1e-5, 'sparse (CSR) vs dense-stored logits');
  });
});
