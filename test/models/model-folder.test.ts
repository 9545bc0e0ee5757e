/**
 * Saving and loading model folders: every weight survives (dense, CSR, N:M, BSR; F32, F16, BF16;
 * single file and shards), and malformed folders fail with messages naming the file and tensor.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import type { Backend, Storage } from '../../src/core/backend.js';
import type { DType, TypedArray, TypedArrayOf } from '../../src/core/dtype.js';
import { SparsekitError } from '../../src/core/errors.js';
import { openSafetensorsFile, writeSafetensorsFile } from '../../src/io/node/safetensors-file.js';
import type { SafetensorsTensorInput } from '../../src/io/safetensors-encode.js';
import { createDecoderWeights, disposeDecoderWeights } from '../../src/models/decoder-weights.js';
import { loadModelFolder } from '../../src/models/node/model-folder.js';
import { writeRandomModelFolder } from '../../src/models/node/random-checkpoint.js';
import { saveModelFolder } from '../../src/models/node/save-model-folder.js';
import type { Tensor } from '../../src/core/tensor.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import type { LinearWeight } from '../../src/sparse/linear.js';
import { cpuBackend } from '../helpers/cpu.js';
import { tinyTokenizerConfig, tinyTokenizerJson } from '../io/tiny-tokenizer.js';
import { makeTempDir } from '../io/helpers.js';
import { assertSameModel, assertSameWeight, disposeAll, type FormatSpec, randomModelWeights, roundTo, tinyLlamaConfig } from './helpers.js';
import { randomSparse } from '../sparse/helpers.js';

let backend: CpuBackend;
let root: string;
let remove: () => Promise<void>;
let counter = 0;
const fresh = (label: string) => join(root, `${label}-${counter++}`);

before(async () => {
  backend = await cpuBackend();
  ({ dir: root, remove } = await makeTempDir('model-folder'));
});
after(() => remove());

/** Sparse formats by projection: attention q CSR, k BSR, MLP up N:M, down CSR, lm_head CSR. */
const MIXED = (name: string): FormatSpec => {
  if (/q_proj/.test(name) || /down_proj/.test(name) || name === 'lm_head.weight') return 'csr';
  if (/k_proj/.test(name)) return 'bsr';
  if (/up_proj/.test(name)) return 'nm';
  return 'dense';
};

/** A backend that only stores host arrays: enough for loading and reading back, and not a CpuBackend. */
function hostBackend(): Backend {
  const store = (data: TypedArray) => ({ byteLength: data.byteLength, data });
  const arrayOf = (dtype: DType, size: number) => (dtype === 'f32' ? new Float32Array(size) : dtype === 'i32' ? new Int32Array(size) : dtype === 'u16' ? new Uint16Array(size) : new Uint8Array(size));
  const readSync = <D extends DType>(storage: Storage, _dtype: D, size: number) => (storage as ReturnType<typeof store>).data.slice(0, size) as TypedArrayOf<D>;
  const unsupported = () => {
    throw new Error('not in the host test backend');
  };
  return new Proxy(
    {
      name: 'host',
      upload: (data: TypedArray) => store(data.slice()),
      allocate: (dtype: DType, size: number) => store(arrayOf(dtype, size)),
      readSync,
      read: <D extends DType>(storage: Storage, dtype: D, size: number) => Promise.resolve(readSync(storage, dtype, size)),
      release: () => undefined,
      sync: () => Promise.resolve(),
      dispose: () => undefined,
    } as Partial<Backend>,
    { get: (target, key) => (key in target ? target[key as keyof Backend] : typeof key === 'string' && key.startsWith('linear') ? undefined : unsupported) },
  ) as Backend;
}

async function assertModelError(promise: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SparsekitError, `expected a SparsekitError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  });
}

/** Saves a tiny model and returns its folder and the weights written (to compare and dispose). */
async function savedModel(config = tinyLlamaConfig(), formatOf: (name: string) => FormatSpec = () => 'dense', extra: Partial<Parameters<typeof saveModelFolder>[1]> = {}) {
  const dir = fresh('model');
  const weights = randomModelWeights(config, backend, formatOf);
  await saveModelFolder(dir, { config, weights, ...extra });
  return { dir, weights };
}

describe('saveModelFolder + loadModelFolder', () => {
  it('round-trips a dense model with its tokenizer and generation config', async () => {
    const config = tinyLlamaConfig();
    const { dir, weights } = await savedModel(config, () => 'dense', {
      files: { 'tokenizer.json': JSON.stringify(tinyTokenizerJson()), 'tokenizer_config.json': JSON.stringify(tinyTokenizerConfig()) },
      generationConfig: { bos_token_id: 1, eos_token_id: [2, 5] },
    });
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const loaded = await loadModelFolder(dir, { backend });
    assert.equal(loaded.config.numKvHeads, 2);
    assert.deepEqual(loaded.config.eosTokenIds, [2, 5]);
    assert.deepEqual(loaded.tokenizer?.encode('hello'), [1, 3 + 256 + 12]);
    assert.deepEqual(loaded.source.files, [join(dir, 'model.safetensors')]);
    assert.deepEqual(loaded.source.formats, { dense: 2 * 7 + 1 });
    assert.deepEqual(loaded.source.ignored, []);
    assert.ok(loaded.source.bytes > (64 * 32 * 2 + 2 * (32 * 32 * 2 + 16 * 32 * 2 + 48 * 32 * 3)) * 4);
    assertSameModel(loaded.weights, weights, 2);
    assert.equal(loaded.weights.tensors().length, weights.size);
    disposeDecoderWeights(loaded.weights);

    // A pruned copy takes the tokenizer files and generation config of its source folder.
    const copy = fresh('copy');
    await saveModelFolder(copy, { config, weights, tokenizerFrom: dir, valuesDType: 'BF16' });
    assert.deepEqual((await readdir(copy)).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const reloaded = await loadModelFolder(copy, { backend, tokenizer: false });
    assert.deepEqual(reloaded.config.eosTokenIds, [2, 5]);
    assert.equal(reloaded.tokenizer, null);
    assertSameModel(reloaded.weights, weights, 2, 'BF16');
    disposeDecoderWeights(reloaded.weights);
    disposeAll(weights.values());
  });

  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`round-trips CSR, N:M and BSR weights with ${dtype} values`, async () => {
      const { dir, weights } = await savedModel(tinyLlamaConfig(), MIXED, { valuesDType: dtype });
      const loaded = await loadModelFolder(dir, { backend, unstructuredFormat: 'csr' });
      // CSR weights this dense go to disk as bitmaps (smaller) and load as CSR when asked to.
      assert.deepEqual(loaded.source.formats, { bitmap: 5, 'bsr 4x8': 2, 'nm 2:4': 2, dense: 6 });
      assert.equal(loaded.tokenizer, null);
      assertSameModel(loaded.weights, weights, 2, dtype);
      disposeDecoderWeights(loaded.weights);
      // By default those (about 50% sparse) load as BitmapMatrix, the same positions and values.
      const auto = await loadModelFolder(dir, { backend });
      assert.deepEqual(auto.source.formats, { bitmap: 5, 'bsr 4x8': 2, 'nm 2:4': 2, dense: 6 });
      assert.ok(auto.weights.layers[1].down.weight instanceof BitmapMatrix && auto.weights.lmHead instanceof BitmapMatrix);
      assertSameModel(auto.weights, weights, 2, dtype, 'bitmap');
      disposeDecoderWeights(auto.weights);
      disposeAll(weights.values());
    });
  }

  it('round-trips Qwen2 (q/k/v biases, tied embeddings) and Llama with attention and MLP biases', async () => {
    const qwen = tinyLlamaConfig({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true });
    const a = await savedModel(qwen, MIXED);
    assert.ok(!a.weights.has('lm_head.weight') && a.weights.has('model.layers.1.self_attn.k_proj.bias') && !a.weights.has('model.layers.1.self_attn.o_proj.bias'));
    const loaded = await loadModelFolder(a.dir, { backend, unstructuredFormat: 'csr' });
    assert.equal(loaded.weights.lmHead, loaded.weights.embedTokens);
    assertSameModel(loaded.weights, a.weights, 2);
    disposeDecoderWeights(loaded.weights);
    disposeAll(a.weights.values());

    const biased = tinyLlamaConfig({ attention_bias: true, mlp_bias: true });
    const b = await savedModel(biased);
    const loadedB = await loadModelFolder(b.dir, { backend });
    assert.ok(loadedB.weights.layers[0].o.bias && loadedB.weights.layers[0].down.bias);
    assertSameModel(loadedB.weights, b.weights, 2);
    disposeDecoderWeights(loadedB.weights);
    disposeAll(b.weights.values());
  });

  it('shards above maxShardBytes with an index, every part of a weight in one shard, and loads them', async () => {
    const { dir, weights } = await savedModel(tinyLlamaConfig(), MIXED, { maxShardBytes: 8 * 1024, valuesDType: 'BF16', csrEncoding: 'csr' });
    const files = (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
    assert.ok(files.length >= 3, `expected several shards, got ${files.join(', ')}`);
    assert.match(files[0], /^model-00001-of-000\d\d\.safetensors$/);
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    const q = 'model.layers.0.self_attn.q_proj.weight';
    const shardOfQ = index.weight_map[`${q}.csr.values`];
    assert.equal(index.weight_map[`${q}.csr.row_ptr`], shardOfQ);
    assert.equal(index.weight_map[`${q}.csr.col_indices`], shardOfQ);
    const shard = await openSafetensorsFile(join(dir, shardOfQ));
    assert.ok(JSON.parse(shard.metadata.sparsekit).tensors[q]);
    await shard.close();
    // CSR on disk, about 50% sparse: BitmapMatrix in memory.
    const loaded = await loadModelFolder(dir, { backend });
    assert.equal(loaded.source.files.length, files.length);
    assert.ok(loaded.weights.layers[0].q.weight instanceof BitmapMatrix);
    assertSameModel(loaded.weights, weights, 2, 'BF16', 'bitmap');
    disposeDecoderWeights(loaded.weights);
    disposeAll(weights.values());
  });

  it('stores sparse weights dense with storeDense', async () => {
    const { dir, weights } = await savedModel(tinyLlamaConfig(), MIXED, { storeDense: true });
    const loaded = await loadModelFolder(dir, { backend });
    assert.deepEqual(loaded.source.formats, { dense: 15 });
    const q = weights.get('model.layers.0.self_attn.q_proj.weight') as CsrMatrix;
    assert.deepEqual((loaded.weights.layers[0].q.weight as Tensor).readSync(), q.toDenseSync());
    disposeDecoderWeights(loaded.weights);
    disposeAll(weights.values());
  });

  it('refuses an existing folder unless forced, and replaces it when forced', async () => {
    const { dir, weights } = await savedModel();
    await assertModelError(saveModelFolder(dir, { config: tinyLlamaConfig(), weights }), 'E_EXISTS', /already exists/);
    await saveModelFolder(dir, { config: tinyLlamaConfig({ rope_theta: 5000 }), weights, force: true });
    const loaded = await loadModelFolder(dir, { backend });
    assert.equal(loaded.config.rope.theta, 5000);
    assert.deepEqual((await readdir(root)).filter((f) => f.startsWith('.')), [], 'no temporary folders left behind');
    disposeDecoderWeights(loaded.weights);
    disposeAll(weights.values());
  });

  it('checks the weights against the config before writing anything', async () => {
    const config = tinyLlamaConfig();
    const weights = randomModelWeights(config, backend);
    const dir = fresh('invalid');
    const missing = new Map(weights);
    missing.delete('model.layers.1.mlp.up_proj.weight');
    await assertModelError(saveModelFolder(dir, { config, weights: missing }), 'E_MISSING_TENSOR', /lack "model\.layers\.1\.mlp\.up_proj\.weight" \[48, 32\]/);
    await assertModelError(saveModelFolder(dir, { config: tinyLlamaConfig({ intermediate_size: 40 }), weights }), 'E_SHAPE', /gate_proj\.weight" has shape \[48, 32\], but the config implies \[40, 32\]/);
    await assertModelError(saveModelFolder(dir, { config: { ...config, hidden_size: undefined }, weights }), 'E_CONFIG', /hidden_size/);
    assert.deepEqual(await readdir(root).then((f) => f.filter((n) => n.includes('invalid'))), []);
    disposeAll(weights.values());
  });

  it('writes random sparse models (the decode benchmark path) that load back', async () => {
    const dir = fresh('random');
    const saved = await writeRandomModelFolder(dir, {
      shape: { hiddenSize: 32, intermediateSize: 64, heads: 4, kvHeads: 2, layers: 2, vocabSize: 64, maxPositions: 64 },
      seed: 3,
      backend,
      config: { tie_word_embeddings: true },
      sparsity: (name) => (/mlp/.test(name) ? { format: 'nm', n: 2, m: 4 } : /q_proj/.test(name) ? { format: 'bsr', block: [8, 8], sparsity: 0.5 } : { format: 'csr', sparsity: 0.5 }),
    });
    assert.equal(saved.sparseWeights, 14);
    const loaded = await loadModelFolder(dir, { backend });
    assert.deepEqual(loaded.source.formats, { 'bsr 8x8': 2, bitmap: 6, 'nm 2:4': 6 });
    const q = loaded.weights.layers[0].q.weight as { sparsity(): number };
    assert.equal(q.sparsity(), 0.5);
    const k = loaded.weights.layers[0].k.weight;
    assert.ok(k instanceof BitmapMatrix, `a 50% unstructured weight loads as ${String(k)}`);
    assert.equal(k.sparsity(), 0.5);
    disposeDecoderWeights(loaded.weights);
  });

  it('loads onto a backend other than the CPU one through host arrays, one tensor at a time', async () => {
    const { dir, weights } = await savedModel(tinyLlamaConfig(), MIXED, { valuesDType: 'F16' });
    const host = hostBackend();
    const loaded = await loadModelFolder(dir, { backend: host });
    assert.ok(loaded.weights.tensors().every((t) => t.backend === host));
    assert.ok(loaded.weights.layers[0].q.weight instanceof BitmapMatrix);
    assertSameModel(loaded.weights, weights, 2, 'F16', 'bitmap');
    const asCsr = await loadModelFolder(dir, { backend: host, unstructuredFormat: 'csr' });
    assert.ok(asCsr.weights.tensors().every((t) => t.backend === host));
    assertSameModel(asCsr.weights, weights, 2, 'F16');
    disposeAll(weights.values());
  });

  it('loads unstructured weights by sparsity (bitmap up to 60%, CSR above) unless told which, and round-trips BitmapMatrix weights', async () => {
    const config = tinyLlamaConfig();
    const weights = randomModelWeights(config, backend);
    const replace = (name: string, w: LinearWeight) => {
      weights.get(name)!.dispose();
      weights.set(name, w);
    };
    // q 50% and down 87.5% sparse as CSR; o 50% and up 87.5% sparse as BitmapMatrix.
    const q = 'model.layers.0.self_attn.q_proj.weight';
    const down = 'model.layers.0.mlp.down_proj.weight';
    const o = 'model.layers.1.self_attn.o_proj.weight';
    const up = 'model.layers.1.mlp.up_proj.weight';
    const exactly = (rows: number, cols: number, every: number, seed: number) => randomSparse(rows, cols, 1, seed).map((v, i) => (i % every === 0 ? v : 0));
    replace(q, CsrMatrix.fromDense(exactly(32, 32, 2, 1), 32, 32, backend));
    replace(down, CsrMatrix.fromDense(exactly(32, 48, 8, 2), 32, 48, backend));
    replace(o, BitmapMatrix.fromDense(exactly(32, 32, 2, 3), 32, 32, backend));
    replace(up, BitmapMatrix.fromDense(exactly(48, 32, 8, 4), 48, 32, backend));
    const sparsityOf = (name: string) => (weights.get(name) as CsrMatrix | BitmapMatrix).sparsity();
    assert.deepEqual([q, down, o, up].map(sparsityOf), [0.5, 0.875, 0.5, 0.875]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const dir = fresh('unstructured');
      // CSR weights go to disk as bitmaps (smaller at these densities), or as CSR parts with csrEncoding 'csr'.
      const csrEncoding = dtype === 'F16' ? 'csr' : 'auto';
      await saveModelFolder(dir, { config, weights, valuesDType: dtype, csrEncoding });
      const at = (loaded: Awaited<ReturnType<typeof loadModelFolder>>): Record<string, LinearWeight> => ({
        [q]: loaded.weights.layers[0].q.weight,
        [down]: loaded.weights.layers[0].down.weight,
        [o]: loaded.weights.layers[1].o.weight,
        [up]: loaded.weights.layers[1].up.weight,
      });
      const auto = await loadModelFolder(dir, { backend });
      assert.deepEqual(auto.source.formats, csrEncoding === 'csr' ? { csr: 2, bitmap: 2, dense: 11 } : { bitmap: 4, dense: 11 });
      const expected: Record<string, 'csr' | 'bitmap'> = { [q]: 'bitmap', [down]: 'csr', [o]: 'bitmap', [up]: 'csr' };
      for (const [name, w] of Object.entries(at(auto))) {
        assert.ok(w instanceof (expected[name] === 'bitmap' ? BitmapMatrix : CsrMatrix), `${name} (${dtype}) loaded as ${String(w)}`);
        assertSameWeight(w, weights.get(name)!, name, dtype, expected[name]);
        assert.deepEqual((w as CsrMatrix | BitmapMatrix).toDenseSync(), roundTo(dtype, (weights.get(name) as CsrMatrix | BitmapMatrix).toDenseSync()), name);
      }
      disposeDecoderWeights(auto.weights);
      for (const choice of ['csr', 'bitmap'] as const) {
        const chosen = await loadModelFolder(dir, { backend, unstructuredFormat: choice });
        for (const [name, w] of Object.entries(at(chosen))) {
          assert.ok(w instanceof (choice === 'bitmap' ? BitmapMatrix : CsrMatrix), `${name} (${dtype}, ${choice}) loaded as ${String(w)}`);
          assertSameWeight(w, weights.get(name)!, name, dtype, choice);
        }
        // A BitmapMatrix comes back with its mask as it was, and its values exactly at F32.
        if (choice === 'bitmap') {
          for (const name of [o, up]) {
            const got = (at(chosen)[name] as BitmapMatrix).readArraysSync();
            const want = (weights.get(name) as BitmapMatrix).readArraysSync();
            assert.deepEqual(got.mask, want.mask, `${name} mask`);
            if (dtype === 'F32') assert.deepEqual(got.values, want.values, `${name} values`);
          }
        }
        disposeDecoderWeights(chosen.weights);
      }
    }
    const dir = fresh('unstructured');
    await saveModelFolder(dir, { config, weights });
    await assert.rejects(loadModelFolder(dir, { backend, unstructuredFormat: 'coo' as never }), /unstructured format must be one of auto, csr, bitmap, got coo/);
    disposeAll(weights.values());
  });

  it('createDecoderWeights lists each tensor once', () => {
    const t = randomModelWeights(tinyLlamaConfig({ tie_word_embeddings: true }), backend);
    const proj = (w: LinearWeight) => ({ weight: w, bias: null });
    const layer = (i: number) => {
      const g = (n: string) => t.get(`model.layers.${i}.${n}`)!;
      return {
        inputNorm: g('input_layernorm.weight') as never,
        postAttentionNorm: g('post_attention_layernorm.weight') as never,
        q: proj(g('self_attn.q_proj.weight')),
        k: proj(g('self_attn.k_proj.weight')),
        v: proj(g('self_attn.v_proj.weight')),
        o: proj(g('self_attn.o_proj.weight')),
        gate: proj(g('mlp.gate_proj.weight')),
        up: proj(g('mlp.up_proj.weight')),
        down: proj(g('mlp.down_proj.weight')),
      };
    };
    const embed = t.get('model.embed_tokens.weight') as never;
    const w = createDecoderWeights({ embedTokens: embed, layers: [layer(0), layer(1)], finalNorm: t.get('model.norm.weight') as never, lmHead: embed });
    assert.equal(w.tensors().length, t.size);
    disposeAll(t.values());
  });
});

describe('loadModelFolder: malformed folders', () => {
  /** Rewrites the folder's model.safetensors with `edit` applied to its tensors (read in full). */
  async function editWeights(dir: string, edit: (tensors: SafetensorsTensorInput[]) => SafetensorsTensorInput[], metadata?: Record<string, string>): Promise<void> {
    const path = join(dir, 'model.safetensors');
    const reader = await openSafetensorsFile(path);
    const tensors: SafetensorsTensorInput[] = [];
    for (const info of reader.tensors()) tensors.push({ name: info.name, dtype: info.dtype, shape: info.shape, data: new Uint8Array(await reader.readRaw(info.name)) });
    const meta = metadata ?? { ...reader.metadata };
    await reader.close();
    await unlink(path);
    await writeSafetensorsFile(path, edit(tensors), meta);
  }

  let weights: Map<string, LinearWeight>;
  before(() => {
    weights = randomModelWeights(tinyLlamaConfig(), backend, MIXED);
  });
  after(() => disposeAll(weights.values()));

  async function copyOf(): Promise<string> {
    const target = fresh('broken');
    await saveModelFolder(target, { config: tinyLlamaConfig(), weights });
    return target;
  }

  it('says when the folder, config.json or the weights are missing', async () => {
    await assertModelError(loadModelFolder(join(root, 'nowhere'), { backend }), 'E_NOT_FOUND', /nowhere: no such folder/);
    const noConfig = await copyOf();
    await unlink(join(noConfig, 'config.json'));
    await assertModelError(loadModelFolder(noConfig, { backend }), 'E_NOT_FOUND', /no config\.json/);
    const noWeights = await copyOf();
    await unlink(join(noWeights, 'model.safetensors'));
    await writeFile(join(noWeights, 'pytorch_model.bin'), '');
    await assertModelError(loadModelFolder(noWeights, { backend }), 'E_NOT_FOUND', /no model\.safetensors or model\.safetensors\.index\.json; .*pytorch_model\.bin/);
    const badJson = await copyOf();
    await writeFile(join(badJson, 'config.json'), '{"hidden_size": 3');
    await assertModelError(loadModelFolder(badJson, { backend }), 'E_MODEL', /config\.json: not valid JSON/);
  });

  it('says when an index names a missing shard, or puts a tensor in the wrong shard', async () => {
    const sharded = fresh('sharded');
    await saveModelFolder(sharded, { config: tinyLlamaConfig(), weights, maxShardBytes: 8 * 1024 });
    const shards = (await readdir(sharded)).filter((f) => f.startsWith('model-')).sort();
    const indexPath = join(sharded, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map: Record<string, string> };
    index.weight_map['model.norm.weight'] = shards[0] === index.weight_map['model.norm.weight'] ? shards[1] : shards[0];
    await writeFile(indexPath, JSON.stringify(index));
    await assertModelError(loadModelFolder(sharded, { backend }), 'E_MODEL', /weight_map puts "model\.norm\.weight" in model-\d+-of-\d+\.safetensors, which does not hold it/);
    await rm(join(sharded, shards[1]));
    await assertModelError(loadModelFolder(sharded, { backend }), 'E_NOT_FOUND', new RegExp(`names the shard ${shards[1]}, which is missing`));
  });

  it('names a missing tensor, with a hint when its sparse parts lack metadata', async () => {
    const target = await copyOf();
    await editWeights(target, (ts) => ts.filter((t) => t.name !== 'model.layers.1.post_attention_layernorm.weight'));
    await assertModelError(loadModelFolder(target, { backend }), 'E_MISSING_TENSOR', /tensor "model\.layers\.1\.post_attention_layernorm\.weight" \[32\] is missing/);
    const orphan = await copyOf();
    await editWeights(orphan, (ts) => ts, { format: 'pt' });
    await assertModelError(loadModelFolder(orphan, { backend }), 'E_MISSING_TENSOR', /"model\.layers\.0\.self_attn\.q_proj\.weight" \[32, 32\] is missing.*holds sparse parts of it, but its metadata does not describe them/);
  });

  it('names a tensor whose shape does not match the config, with both shapes', async () => {
    const target = await copyOf();
    const configPath = join(target, 'config.json');
    await writeFile(configPath, JSON.stringify(tinyLlamaConfig({ intermediate_size: 40 })));
    await assertModelError(
      loadModelFolder(target, { backend }),
      'E_SHAPE',
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[48, 32\] does not match config\.json, which implies \[40, 32\]/,
    );
    await writeFile(configPath, JSON.stringify(tinyLlamaConfig({ num_key_value_heads: 4 })));
    await assertModelError(loadModelFolder(target, { backend }), 'E_SHAPE', /tensor "model\.layers\.0\.self_attn\.k_proj\.weight": shape \[16, 32\] .* implies \[32, 32\]/);
  });

  it('reports layers beyond num_hidden_layers', async () => {
    const target = await copyOf();
    await writeFile(join(target, 'config.json'), JSON.stringify(tinyLlamaConfig({ num_hidden_layers: 1 })));
    await assertModelError(loadModelFolder(target, { backend }), 'E_MODEL', /holds "model\.layers\.1\..*num_hidden_layers = 1/);
  });

  it('names a weight holding NaN or infinity, dense or sparse, F32 or F16', async () => {
    const cases: [string, string, number, 'F32' | 'F16'][] = [
      ['model.layers.1.self_attn.v_proj.weight', 'model.layers.1.self_attn.v_proj.weight', NaN, 'F32'],
      ['model.norm.weight', 'model.norm.weight', Infinity, 'F16'],
      ['model.layers.0.mlp.down_proj.weight.csr.values', 'model.layers.0.mlp.down_proj.weight.csr.values', -Infinity, 'F32'],
      ['model.layers.0.mlp.down_proj.weight.bitmap.values', 'model.layers.0.mlp.down_proj.weight.bitmap.values', NaN, 'F16'],
    ];
    for (const [tensorName, reported, bad, dtype] of cases) {
      const target = fresh('nan');
      await saveModelFolder(target, { config: tinyLlamaConfig(), weights, valuesDType: dtype, csrEncoding: tensorName.includes('.bitmap.') ? 'bitmap' : 'csr' });
      await editWeights(target, (ts) =>
        ts.map((t) => {
          if (t.name !== tensorName) return t;
          const raw = t.data as Uint8Array;
          if (dtype === 'F32') new DataView(raw.buffer, raw.byteOffset).setFloat32(4, bad, true);
          else new DataView(raw.buffer, raw.byteOffset).setUint16(2, bad > 0 ? 0x7c00 : 0xfc00, true);
          return t;
        }),
      );
      await assertModelError(loadModelFolder(target, { backend }), 'E_NONFINITE', new RegExp(`tensor "${reported.replace(/\./g, '\\.')}": element 1( \\(at \\[0, 1\\]\\))? is (NaN|-?Infinity)`));
    }
  });

  it('refuses integer weights', async () => {
    const target = await copyOf();
    await editWeights(target, (ts) => ts.map((t) => (t.name === 'model.norm.weight' ? { ...t, dtype: 'I32' } : t)));
    await assertModelError(loadModelFolder(target, { backend }), 'E_MODEL', /tensor "model\.norm\.weight": dtype I32 is not a float type/);
  });
});
