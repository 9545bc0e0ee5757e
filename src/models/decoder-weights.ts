/** The weights of a Llama-family decoder as the forward pass takes them. */
import type { Tensor, TensorContainer } from '../core/tensor.js';
import type { LinearWeight } from '../sparse/linear.js';

/** One projection: its weight [out, in] in any format, and an optional bias [out]. */
export interface Projection {
  readonly weight: LinearWeight;
  readonly bias: Tensor | null;
}

export interface DecoderLayerWeights {
  readonly inputNorm: Tensor; // [hidden]
  readonly q: Projection; // [heads * headDim, hidden]
  readonly k: Projection; // [kvHeads * headDim, hidden]
  readonly v: Projection; // [kvHeads * headDim, hidden]
  readonly o: Projection; // [hidden, heads * headDim]
  readonly postAttentionNorm: Tensor; // [hidden]
  readonly gate: Projection; // [intermediate, hidden]
  readonly up: Projection; // [intermediate, hidden]
  readonly down: Projection; // [hidden, intermediate]
}

export interface DecoderWeights extends TensorContainer {
  readonly embedTokens: Tensor; // [vocab, hidden]
  readonly layers: readonly DecoderLayerWeights[];
  readonly finalNorm: Tensor; // [hidden]
  /** [vocab, hidden]; the same tensor as embedTokens when the embeddings are tied. */
  readonly lmHead: LinearWeight;
}

/** Every tensor of the weights, each once (tied weights are shared), for tidy() and dispose. */
export function decoderTensors(w: Omit<DecoderWeights, 'tensors'>): Tensor[] {
  const out = new Set<Tensor>();
  const addWeight = (x: LinearWeight) => {
    if ('tensors' in x && typeof x.tensors === 'function') for (const t of x.tensors()) out.add(t);
    else out.add(x as Tensor);
  };
  const addProjection = (p: Projection) => {
    addWeight(p.weight);
    if (p.bias) out.add(p.bias);
  };
  out.add(w.embedTokens);
  for (const l of w.layers) {
    out.add(l.inputNorm);
    out.add(l.postAttentionNorm);
    for (const p of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) addProjection(p);
  }
  out.add(w.finalNorm);
  addWeight(w.lmHead);
  return [...out];
}

/** DecoderWeights from its parts, with tensors() listing every tensor once (tied weights shared). */
export function createDecoderWeights(parts: Omit<DecoderWeights, 'tensors'>): DecoderWeights {
  const { embedTokens, layers, finalNorm, lmHead } = parts;
  const frozen = { embedTokens, layers: Object.freeze([...layers]), finalNorm, lmHead };
  return { ...frozen, tensors: () => decoderTensors(frozen) };
}

/** Frees every tensor of the weights (each once). */
export function disposeDecoderWeights(weights: DecoderWeights): void {
  for (const t of weights.tensors()) t.dispose();
}
