/**
 * Next-token prediction on a token stream with the Llama-family decoder of decoder-train.ts:
 * random windows of T + 1 tokens for training (TokenBatchSampler, as nanoGPT samples), held-out
 * loss over consecutive windows of the held-out stream. Every projection of every block is a
 * sparse-trainable layer; embeddings, norms and the LM head stay dense, as in the sparse-training
 * papers' transformer runs.
 */
import * as ag from '../../autograd/index.js';
import { ArgumentError } from '../../core/errors.js';
import { tensor } from '../../core/ops.js';
import { tidy } from '../../core/tensor.js';
import { sequentialTokenBatches, TokenBatchSampler } from '../../data/token-windows.js';
import type { DecoderConfig } from '../../models/decoder-config.js';
import { decoderLoss, type DecoderParameters, SequenceConstants } from '../../models/decoder-train.js';
import { LAYER_PROJECTIONS, layerPrefix } from '../../models/hf-names.js';
import { SparseForwardWeights } from '../sparse-forward.js';
import type { TrainingBatchLoss, TrainingEvaluation, TrainingTask } from '../task.js';
import type { SparseLayer } from '../types.js';

export interface LanguageModelTaskOptions {
  readonly config: DecoderConfig;
  readonly params: DecoderParameters;
  readonly train: Int32Array;
  readonly heldOut: Int32Array;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  /** Held-out windows evaluated at most (all when absent), from the start of the stream. */
  readonly evalWindows?: number;
  /**
   * Run masked projections at or below this density through the CSR kernels (forward and input
   * gradient); 0 turns it off. Default 0.2 (sparse-forward.ts).
   */
  readonly sparseKernelMaxDensity?: number;
}

/** The block projections as sparse layers ([out, in] weights named as in Hugging Face checkpoints). */
export function decoderSparseLayers(config: DecoderConfig, params: DecoderParameters): SparseLayer[] {
  const layers: SparseLayer[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    for (const [, path] of LAYER_PROJECTIONS) {
      const name = `${layerPrefix(l)}.${path}.weight`;
      const param = params.get(name);
      if (!param) throw new ArgumentError(`decoder parameters: '${name}' is missing`);
      const [rows, cols] = param.shape;
      layers.push({ name, param, rows, cols });
    }
  }
  return layers;
}

export class LanguageModelTask implements TrainingTask {
  readonly kind = 'language-model';
  readonly itemUnit = 'tokens';
  readonly parameters: DecoderParameters;
  readonly sparseLayers: SparseLayer[];
  private readonly sampler: TokenBatchSampler;
  private readonly constants: SequenceConstants;
  private readonly sparseWeights: SparseForwardWeights | null;

  constructor(private readonly options: LanguageModelTaskOptions) {
    const { config, params, seqLen } = options;
    if (seqLen > config.maxPositions) throw new ArgumentError(`language model: seqLen ${seqLen} exceeds the model's context of ${config.maxPositions}`);
    for (const stream of [options.train, options.heldOut]) {
      for (const id of stream) if (id < 0 || id >= config.vocabSize) throw new ArgumentError(`language model: token id ${id} is outside the vocabulary [0, ${config.vocabSize})`);
    }
    this.parameters = params;
    this.sparseLayers = decoderSparseLayers(config, params);
    this.sampler = new TokenBatchSampler(options.train, { batchSize: options.batchSize, seqLen, seed: options.seed, source: 'training tokens' });
    this.constants = new SequenceConstants(seqLen, config);
    const maxDensity = options.sparseKernelMaxDensity ?? 0.2;
    this.sparseWeights = maxDensity > 0 ? new SparseForwardWeights(this.sparseLayers, maxDensity) : null;
  }

  useMasks(masks: ReadonlyMap<string, Uint8Array>): void {
    this.sparseWeights?.refresh(masks);
  }

  /** Projections currently running through the CSR kernels. */
  sparseKernelLayers(): string[] {
    return this.sparseLayers.filter((l) => this.sparseWeights?.get(l.name)).map((l) => l.name);
  }

  nextLoss(): TrainingBatchLoss {
    const batch = this.sampler.next();
    const shape = [batch.batchSize, batch.seqLen];
    const inputs = tensor(batch.inputs, shape, 'i32');
    const targets = tensor(batch.targets, shape, 'i32');
    const sparse = this.sparseWeights;
    const loss = decoderLoss(this.options.config, this.parameters, inputs, targets, this.constants, sparse ? { sparseWeights: (name) => sparse.get(name) } : {});
    return {
      loss,
      items: batch.batchSize * batch.seqLen,
      dispose: () => {
        inputs.dispose();
        targets.dispose();
      },
    };
  }

  /** Mean next-token loss (nats) over the held-out windows. */
  async evaluate(): Promise<TrainingEvaluation> {
    const { config, heldOut, batchSize, seqLen, evalWindows } = this.options;
    let total = 0;
    let tokens = 0;
    let windows = 0;
    for (const batch of sequentialTokenBatches(heldOut, { batchSize, seqLen, source: 'held-out tokens' })) {
      if (evalWindows !== undefined && windows >= evalWindows) break;
      const count = evalWindows === undefined ? batch.batchSize : Math.min(batch.batchSize, evalWindows - windows);
      const inputs = tensor(batch.inputs.subarray(0, count * seqLen), [count, seqLen], 'i32');
      const targets = tensor(batch.targets.subarray(0, count * seqLen), [count, seqLen], 'i32');
      const constants = this.constants;
      // tidy: without a graph nothing frees the intermediate tensors but the scope.
      const loss = tidy(() => ag.noGrad(() => decoderLoss(config, this.parameters, inputs, targets, constants)).value);
      total += ((await loss.read()) as Float32Array)[0] * count * seqLen;
      tokens += count * seqLen;
      windows += count;
      for (const t of [loss, inputs, targets]) t.dispose();
    }
    return { metric: 'heldOutLoss', value: total / tokens, higherIsBetter: false };
  }

  dataState(): number[] {
    return this.sampler.randomState();
  }

  restoreDataState(state: readonly number[]): void {
    this.sampler.restoreRandomState(state);
  }

  dispose(): void {
    this.sparseWeights?.dispose();
    this.constants.dispose();
  }
}
