/**
 * A-shape prefill pattern (MInference, Jiang et al. 2024; the attention-sink shape of
 * StreamingLLM, Xiao et al. 2024): every query block attends to the first `sinkBlocks` key blocks
 * and to the `localBlocks` key blocks ending at its own (its diagonal block included). Static: it
 * reads no queries or keys, so it costs nothing to build.
 */
import { ArgumentError } from '../../core/errors.js';
import { blockCount, checkBlockSize, type PrefillInput, type PrefillPattern } from './blocks.js';

export interface AShapeOptions {
  readonly blockSize?: number;
  /** Leading key blocks every query block keeps (default 1). */
  readonly sinkBlocks?: number;
  /** Key blocks up to and including the diagonal one (default 4). */
  readonly localBlocks?: number;
}

export class AShapePattern implements PrefillPattern {
  readonly name = 'a-shape';
  readonly blockSize: number;
  readonly sinkBlocks: number;
  readonly localBlocks: number;

  constructor(options: AShapeOptions = {}) {
    this.blockSize = checkBlockSize(this.name, options.blockSize ?? 64);
    this.sinkBlocks = options.sinkBlocks ?? 1;
    this.localBlocks = options.localBlocks ?? 4;
    if (!Number.isInteger(this.sinkBlocks) || this.sinkBlocks < 0) throw new ArgumentError(`a-shape: sinkBlocks ${this.sinkBlocks} must be a non-negative integer`);
    if (!Number.isInteger(this.localBlocks) || this.localBlocks < 1) throw new ArgumentError(`a-shape: localBlocks ${this.localBlocks} must be at least 1 (the diagonal block)`);
  }

  fillHead(input: PrefillInput, _head: number, out: Uint8Array): void {
    const n = blockCount(input.tokens, this.blockSize);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < Math.min(this.sinkBlocks, i + 1); j++) out[i * n + j] = 1;
      for (let j = Math.max(0, i - this.localBlocks + 1); j <= i; j++) out[i * n + j] = 1;
    }
  }
}
