/**
 * The Llama-family decoder as a differentiable function, for training: the same blocks as
 * llama.ts (pre-norm, grouped-query attention with rotary positions, SwiGLU MLP, tied or separate
 * LM head) written with autograd ops over whole sequences, causal attention as explicit scores
 * (no KV cache, no fused kernel: both have no backward). Parameters carry the Hugging Face names,
 * so a trained model saves with saveModelFolder and runs in the inference engine; a test checks
 * that this forward and DecoderModel.forward give the same logits for the same weights.
 */
import * as ag from '../autograd/index.js';
import { sparseLinear } from '../autograd/ops/sparse-linear.js';
import type { Variable } from '../autograd/variable.js';
import type { Backend } from '../core/backend.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { full, randomNormal, tensor } from '../core/ops.js';
import { ropeTables } from '../core/rope.js';
import type { Tensor } from '../core/tensor.js';
import type { CsrMatrix } from '../sparse/csr.js';
import { type DecoderConfig, layerShapeOf } from './decoder-config.js';
import { createDecoderWeights, type DecoderWeights } from './decoder-weights.js';
import { EMBED_TOKENS, expectedDecoderTensors, FINAL_NORM, LAYER_PROJECTIONS, layerPrefix, LM_HEAD } from './hf-names.js';

/** Trainable parameters by Hugging Face tensor name. */
export type DecoderParameters = Map<string, Variable>;

/**
 * Fresh parameters: Linear and embedding weights N(0, std) (HF's initializer_range, 0.02 by
 * default), norms ones, biases zeros; seeded.
 */
export function initDecoderParameters(config: DecoderConfig, seed: number, std = 0.02, backend?: Backend): DecoderParameters {
  const out: DecoderParameters = new Map();
  let i = 0;
  for (const t of expectedDecoderTensors(config)) {
    const value =
      t.kind === 'norm' ? full(t.shape, 1, 'f32', backend) : t.kind === 'bias' ? full(t.shape, 0, 'f32', backend) : randomNormal(t.shape, seed * 1000 + i++, std, 0, backend);
    out.set(t.name, ag.parameter(value, t.name));
  }
  return out;
}

/** The parameters' current values as inference weights (shared tensors: train, then run). */
export function decoderWeightsOf(config: DecoderConfig, params: DecoderParameters): DecoderWeights {
  const get = (name: string) => {
    const p = params.get(name);
    if (!p) throw new ArgumentError(`decoder parameters: '${name}' is missing`);
    return p.value;
  };
  const maybe = (name: string) => params.get(name)?.value ?? null;
  const layers = Array.from({ length: config.numLayers }, (_, l) => {
    const prefix = layerPrefix(l);
    const projection = (path: string) => ({ weight: get(`${prefix}.${path}.weight`), bias: maybe(`${prefix}.${path}.bias`) });
    const layer = Object.fromEntries(LAYER_PROJECTIONS.map(([key, path]) => [key, projection(path)]));
    return {
      inputNorm: get(`${prefix}.input_layernorm.weight`),
      postAttentionNorm: get(`${prefix}.post_attention_layernorm.weight`),
      ...(layer as Record<(typeof LAYER_PROJECTIONS)[number][0], ReturnType<typeof projection>>),
    };
  });
  const embedTokens = get(EMBED_TOKENS);
  return createDecoderWeights({ embedTokens, layers, finalNorm: get(FINAL_NORM), lmHead: config.tieWordEmbeddings ? embedTokens : get(LM_HEAD) });
}

/** Rotary tables and the causal mask for sequences of T tokens (positions 0 .. T-1), made once per length. */
export class SequenceConstants {
  readonly cos: Tensor;
  readonly sin: Tensor;
  /** [T, T]: 0 on and below the diagonal, -1e9 above (so softmax gives those positions 0). */
  readonly causalMask: Tensor;

  constructor(
    readonly length: number,
    config: DecoderConfig,
    backend?: Backend,
  ) {
    const tables = ropeTables(Array.from({ length }, (_, i) => i), config.rope, backend);
    this.cos = tables.cos;
    this.sin = tables.sin;
    const mask = new Float32Array(length * length);
    for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) mask[i * length + j] = -1e9;
    this.causalMask = tensor(mask, [length, length], 'f32', backend);
  }

  dispose(): void {
    for (const t of [this.cos, this.sin, this.causalMask]) t.dispose();
  }
}

/** A weight held in CSR both ways (training/sparse-forward.ts), for projections that run sparse. */
export type SparseWeightLookup = (name: string) => { readonly forward: CsrMatrix; readonly transposed: CsrMatrix } | undefined;

export interface DecoderForwardOptions {
  /** Projections whose weight this returns run through the CSR kernels (masked sparse training). */
  readonly sparseWeights?: SparseWeightLookup;
}

function projection(x: Variable, params: DecoderParameters, name: string, options: DecoderForwardOptions): Variable {
  const weight = params.get(`${name}.weight`)!;
  const bias = params.get(`${name}.bias`) ?? null;
  const sparse = options.sparseWeights?.(`${name}.weight`);
  return sparse ? sparseLinear(x, weight, sparse, bias) : ag.linear(x, weight, bias);
}

/**
 * Logits [B * T, vocab] of token ids [B, T] (i32). Attention per KV group: q [B, kv, group, T, D]
 * against k, v [B, kv, 1, T, D], the group axis broadcast by the batched matmul.
 */
export function decoderLogits(config: DecoderConfig, params: DecoderParameters, ids: Tensor, constants: SequenceConstants, options: DecoderForwardOptions = {}): Variable {
  if (ids.rank !== 2 || ids.dtype !== 'i32') throw new ShapeError(`decoderLogits: token ids must be i32 [batch, length], got ${ids.dtype} [${ids.shape.join(', ')}]`);
  const [B, T] = ids.shape;
  if (T !== constants.length) throw new ShapeError(`decoderLogits: sequences of ${T} tokens, constants for ${constants.length}`);
  if (T > config.maxPositions) throw new ShapeError(`decoderLogits: ${T} tokens exceed the context of ${config.maxPositions}`);
  const { hiddenSize: H, headDim: D, rmsNormEps: eps } = config;
  const scale = 1 / Math.sqrt(D);
  const mask = ag.constant(constants.causalMask);
  let h = ag.reshape(ag.embedding(params.get(EMBED_TOKENS)!, ids), [B * T, H]);
  for (let layer = 0; layer < config.numLayers; layer++) {
    const p = layerPrefix(layer);
    const { numHeads, numKvHeads } = layerShapeOf(config, layer);
    const group = numHeads / numKvHeads;
    const x = ag.rmsNorm(h, params.get(`${p}.input_layernorm.weight`)!, eps);
    // [B*T, heads*D] -> [B, heads, T, D], rotated per position.
    const heads = (v: Variable, n: number) => ag.transpose(ag.reshape(v, [B, T, n, D]), [0, 2, 1, 3]);
    const rotate = (v: Variable, n: number) => ag.reshape(ag.rope(ag.reshape(v, [B * n, T, D]), constants.cos, constants.sin), [B, n, T, D]);
    const q = ag.reshape(rotate(heads(projection(x, params, `${p}.self_attn.q_proj`, options), numHeads), numHeads), [B, numKvHeads, group, T, D]);
    const k = ag.reshape(rotate(heads(projection(x, params, `${p}.self_attn.k_proj`, options), numKvHeads), numKvHeads), [B, numKvHeads, 1, T, D]);
    const v = ag.reshape(heads(projection(x, params, `${p}.self_attn.v_proj`, options), numKvHeads), [B, numKvHeads, 1, T, D]);
    const scores = ag.add(ag.scale(ag.matmul(q, k, { transposeB: true }), scale), mask);
    const attended = ag.matmul(ag.softmax(scores, -1), v); // [B, kv, group, T, D]
    const merged = ag.reshape(ag.transpose(ag.reshape(attended, [B, numHeads, T, D]), [0, 2, 1, 3]), [B * T, numHeads * D]);
    h = ag.add(h, projection(merged, params, `${p}.self_attn.o_proj`, options));
    const y = ag.rmsNorm(h, params.get(`${p}.post_attention_layernorm.weight`)!, eps);
    // SwiGLU (Shazeer 2020): down(silu(gate(y)) * up(y)).
    const act = ag.mul(ag.silu(projection(y, params, `${p}.mlp.gate_proj`, options)), projection(y, params, `${p}.mlp.up_proj`, options));
    h = ag.add(h, projection(act, params, `${p}.mlp.down_proj`, options));
  }
  const final = ag.rmsNorm(h, params.get(FINAL_NORM)!, eps);
  return ag.linear(final, config.tieWordEmbeddings ? params.get(EMBED_TOKENS)! : params.get(LM_HEAD)!);
}

/** Mean next-token cross-entropy of inputs [B, T] against targets [B, T] (both i32). */
export function decoderLoss(config: DecoderConfig, params: DecoderParameters, inputs: Tensor, targets: Tensor, constants: SequenceConstants, options: DecoderForwardOptions = {}): Variable {
  const logits = decoderLogits(config, params, inputs, constants, options);
  const flat = targets.reshape([-1]);
  const loss = ag.crossEntropy(logits, flat);
  flat.dispose();
  return loss;
}
