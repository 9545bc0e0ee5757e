/**
 * Writes a Llama-family model folder (config.json + model.safetensors) with random weights, for
 * demos and benchmarks where no trained model can be downloaded. Linear weights are N(0, 1/in),
 * norms are ones. `transform` may change each weight before it is written (e.g. prune it).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Random } from '../../core/random.js';
import { temporaryPathFor } from '../../io/node/atomic-file.js';
import { writeSafetensorsFile } from '../../io/node/safetensors-file.js';
import { llamaConfigJson, type LlamaShape, llamaWeightShapes } from '../llama-config.js';

export type WeightTransform = (name: string, data: Float32Array, shape: number[]) => Float32Array;

/** Builds the folder under a temporary name and renames it to `dir` when complete (`dir` must not exist). */
export async function writeRandomLlamaCheckpoint(dir: string, shape: LlamaShape, seed: number, transform: WeightTransform = (_, d) => d): Promise<void> {
  const staging = temporaryPathFor(dir);
  await mkdir(staging, { recursive: true });
  try {
    const rng = new Random(seed);
    const tensors = llamaWeightShapes(shape).map(({ name, shape: s }) => {
      const data = new Float32Array(s.reduce((a, b) => a * b, 1));
      if (s.length === 1) data.fill(1);
      else {
        const std = 1 / Math.sqrt(s[1]);
        for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      }
      return { name, dtype: 'F32' as const, shape: s, data: transform(name, data, s) };
    });
    await writeFile(join(staging, 'config.json'), `${JSON.stringify(llamaConfigJson(shape), null, 2)}\n`);
    await writeSafetensorsFile(join(staging, 'model.safetensors'), tensors, { format: 'pt' });
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
