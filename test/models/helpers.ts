/** Shared by the model-folder tests: tiny configs, random weights in any format, and weight comparison. */
import assert from 'node:assert/strict';
import type { Backend } from '../../src/core/backend.js';
import { Random } from '../../src/core/random.js';
import { tensor } from '../../src/core/ops.js';
import { Tensor } from '../../src/core/tensor.js';
import { bitsToF32, bf16BitsToF32Bits, f16BitsToF32Bits, f32BitsToBf16Bits, f32BitsToF16Bits, f32ToBits } from '../../src/io/float-bits.js';
import type { ValuesDType } from '../../src/models/checkpoint-layout.js';
import { parseDecoderConfig } from '../../src/models/config.js';
import type { DecoderWeights } from '../../src/models/decoder-weights.js';
import { expectedDecoderTensors, LAYER_PROJECTIONS, layerPrefix } from '../../src/models/hf-names.js';
import { BitmapMatrix } from '../../src/sparse/bitmap.js';
import { csrFromBitmap, csrToBitmap } from '../../src/sparse/bitmap-encoding.js';
import { BsrMatrix } from '../../src/sparse/bsr.js';
import { CsrMatrix } from '../../src/sparse/csr.js';
import type { LinearWeight } from '../../src/sparse/linear.js';
import { NmMatrix } from '../../src/sparse/nm.js';

/** A tiny grouped-query Llama: hidden 32, 4 heads of 8, 2 KV heads, MLP 48, 2 layers, vocab 64. */
export function tinyLlamaConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 64,
    max_position_embeddings: 128,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    ...over,
  };
}

export type FormatSpec = 'dense' | 'csr' | 'nm' | 'bsr';

/**
 * Random weights for every tensor `configJson` needs, on `backend`: linear weights in the format
 * `formatOf(name)` picks (csr ~50% sparse, well under the 60% up to which it loads as a bitmap;
 * nm 2:4; bsr 4x8 blocks ~50%), biases and norms random.
 */
export function randomModelWeights(configJson: Record<string, unknown>, backend: Backend, formatOf: (name: string) => FormatSpec = () => 'dense', seed = 1): Map<string, LinearWeight> {
  const config = parseDecoderConfig(configJson, 'config.json');
  const rng = new Random(seed);
  const out = new Map<string, LinearWeight>();
  for (const e of expectedDecoderTensors(config)) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, () => rng.normal());
    if (e.kind !== 'linear') {
      out.set(e.name, tensor(data, e.shape, 'f32', backend));
      continue;
    }
    const [rows, cols] = e.shape;
    switch (formatOf(e.name)) {
      case 'dense':
        out.set(e.name, tensor(data, e.shape, 'f32', backend));
        break;
      case 'csr':
        for (let i = 0; i < size; i++) if (rng.uniform() < 0.5) data[i] = 0;
        out.set(e.name, CsrMatrix.fromDense(data, rows, cols, backend));
        break;
      case 'nm':
        for (let g = 0; g < size; g += 4) {
          const keep = [rng.int(4), rng.int(4)];
          for (let j = 0; j < 4; j++) if (!keep.includes(j)) data[g + j] = 0;
        }
        out.set(e.name, NmMatrix.fromDense(data, rows, cols, 2, 4, backend));
        break;
      case 'bsr':
        for (let r = 0; r < rows; r += 4) {
          for (let c = 0; c < cols; c += 8) {
            if (rng.uniform() < 0.5) for (let i = r; i < r + 4; i++) data.fill(0, i * cols + c, i * cols + c + 8);
          }
        }
        out.set(e.name, BsrMatrix.fromDense(data, rows, cols, 4, 8, backend));
        break;
    }
  }
  return out;
}

/** What a value becomes after storing it as `dtype` and reading it back. */
export function roundTo(dtype: ValuesDType, values: Float32Array): Float32Array {
  if (dtype === 'F32') return values;
  return values.map((v) => bitsToF32(dtype === 'F16' ? f16BitsToF32Bits(f32BitsToF16Bits(f32ToBits(v))) : bf16BitsToF32Bits(f32BitsToBf16Bits(f32ToBits(v)))));
}

/** The in-memory format an unstructured (CSR or bitmap) weight is expected to load as. */
export type Unstructured = 'csr' | 'bitmap';

/**
 * A weight's host arrays: a dense tensor's values, or a sparse matrix's parts. With `unstructured`,
 * a CSR or bitmap weight's parts are given in that format (the same positions and values).
 */
export function weightArrays(w: LinearWeight, unstructured?: Unstructured): Record<string, unknown> {
  if (w instanceof Tensor) return { format: 'dense', shape: [...w.shape], values: w.readSync() };
  if (w instanceof CsrMatrix && unstructured === 'bitmap') {
    const a = w.readArraysSync();
    return { format: 'bitmap', rows: a.rows, cols: a.cols, rowPtr: a.rowPtr, mask: csrToBitmap(a), values: a.values };
  }
  if (w instanceof BitmapMatrix && unstructured === 'csr') {
    const a = w.readArraysSync();
    return { format: 'csr', rows: a.rows, cols: a.cols, ...csrFromBitmap(a.rows, a.cols, a.mask), values: a.values };
  }
  const format = w instanceof CsrMatrix ? 'csr' : w instanceof BitmapMatrix ? 'bitmap' : w instanceof NmMatrix ? 'nm' : 'bsr';
  return { format, ...w.readArraysSync() };
}

/**
 * Asserts that `got` holds `want` (same format and parts), float values after rounding to `dtype`.
 * With `unstructured`, a CSR or bitmap `want` is expected in that format instead of its own.
 */
export function assertSameWeight(got: LinearWeight, want: LinearWeight, name: string, dtype: ValuesDType = 'F32', unstructured?: Unstructured): void {
  const g = weightArrays(got);
  const w = weightArrays(want, unstructured);
  w.values = roundTo(dtype, w.values as Float32Array);
  assert.deepEqual(g, w, `weight ${name} differs`);
}

/** Every weight of `weights` against the originals by HF name; CSR and bitmap originals expected as `unstructured` when given. */
export function assertSameModel(
  weights: DecoderWeights,
  originals: ReadonlyMap<string, LinearWeight>,
  numLayers: number,
  dtype: ValuesDType = 'F32',
  unstructured?: Unstructured,
): void {
  assertSameWeight(weights.embedTokens, originals.get('model.embed_tokens.weight')!, 'embed', dtype);
  assertSameWeight(weights.finalNorm, originals.get('model.norm.weight')!, 'norm', dtype);
  if (originals.has('lm_head.weight')) assertSameWeight(weights.lmHead, originals.get('lm_head.weight')!, 'lm_head', dtype, unstructured);
  else assert.equal(weights.lmHead, weights.embedTokens, 'a tied lm_head is the embedding tensor');
  assert.equal(weights.layers.length, numLayers);
  weights.layers.forEach((layer, i) => {
    const p = layerPrefix(i);
    assertSameWeight(layer.inputNorm, originals.get(`${p}.input_layernorm.weight`)!, `${p} input norm`, dtype);
    assertSameWeight(layer.postAttentionNorm, originals.get(`${p}.post_attention_layernorm.weight`)!, `${p} post norm`, dtype);
    for (const [key, module] of LAYER_PROJECTIONS) {
      assertSameWeight(layer[key].weight, originals.get(`${p}.${module}.weight`)!, `${p}.${module}`, dtype, unstructured);
      const bias = originals.get(`${p}.${module}.bias`);
      if (bias) assertSameWeight(layer[key].bias!, bias, `${p}.${module}.bias`, dtype);
      else assert.equal(layer[key].bias, null, `${p}.${module} has no bias`);
    }
  });
}

export function disposeAll(weights: Iterable<LinearWeight>): void {
  for (const w of weights) w.dispose();
}
