/**
 * `sparsekit generate <model-dir> --prompt TEXT [--max-new-tokens N] [--temperature T --top-k K
 * --top-p P --seed S]`: streams the continuation to stdout as tokens come; stats to stderr.
 */
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { ArgumentError } from '../core/errors.js';
import { generate } from '../models/generate.js';
import { DecoderModel } from '../models/llama.js';
import { loadModelFolder } from '../models/node/model-folder.js';
import { formatBytes } from './format.js';

export interface GenerateCommandOptions {
  prompt: string;
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  threads?: number;
}

export async function generateCommand(dir: string, options: GenerateCommandOptions): Promise<void> {
  if (options.prompt.length === 0) throw new ArgumentError('the prompt is empty; pass some text with --prompt');
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens <= 0) {
    throw new ArgumentError(`--max-new-tokens must be a positive integer, got ${options.maxNewTokens}`);
  }
  const backend = await createCpuBackend({ threads: options.threads });
  try {
    const loadStart = performance.now();
    const { config, weights, tokenizer, source } = await loadModelFolder(dir, { backend });
    if (!tokenizer) throw new ArgumentError(`${dir} has no tokenizer.json; generate needs one to turn the prompt into tokens`);
    const model = new DecoderModel(config, weights);
    const formats = Object.entries(source.formats).map(([f, n]) => `${n} ${f}`).join(', ');
    process.stderr.write(`loaded ${dir} in ${((performance.now() - loadStart) / 1000).toFixed(1)} s: ${formatBytes(source.bytes)}, Linear weights ${formats}\n`);
    const ids = tokenizer.encode(options.prompt);
    if (ids.length === 0) throw new ArgumentError('the prompt encodes to no tokens');
    const decoder = tokenizer.streamDecoder({ skipSpecialTokens: true });
    process.stdout.write(options.prompt);
    const result = await generate(model, [ids], {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      seed: options.seed,
      eosTokenIds: config.eosTokenIds.length > 0 ? config.eosTokenIds : tokenizer.eosTokenIds,
      onToken: (_, token) => process.stdout.write(decoder.push(token)),
    });
    process.stdout.write(`${decoder.flush()}\n`);
    const { promptTokens, newTokens, prefillMs, decodeMs, kvCacheBytes } = result.stats;
    const decodeSteps = Math.max(1, newTokens - 1);
    process.stderr.write(
      `prompt ${promptTokens} tokens, prefill ${(promptTokens / (prefillMs / 1000)).toFixed(1)} tokens/s; ` +
        `${newTokens} new tokens, decode ${(decodeSteps / (decodeMs / 1000)).toFixed(2)} tokens/s; KV cache ${formatBytes(kvCacheBytes)}\n`,
    );
  } finally {
    backend.dispose();
  }
}
