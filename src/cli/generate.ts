/**
 * `sparsekit generate <model-dir> --prompt TEXT [--max-new-tokens N] [--temperature T --top-k K
 * --top-p P --seed S] [--kv-policy NAME --kv-budget B] [--sparse-prefill PATTERN]`: streams the
 * continuation to stdout as tokens come; stats (and the KV policy's numbers) to stderr.
 */
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { describeBudget, parseBudget, resolveBudget } from '../attention/budget.js';
import { type PolicyCaches, policyCaches } from '../attention/policy-caches.js';
import { type SparsePrefill, sparsePrefill } from '../attention/prefill/sparse-prefill.js';
import { ArgumentError } from '../core/errors.js';
import { generate, type KVCacheReport } from '../models/generate.js';
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
  /** A KV-cache policy by registry name (attention/registry.ts). */
  kvPolicy?: string;
  /** Its budget: tokens (1024), a fraction (1/16, 0.0625) or a percentage (6.25%). */
  kvBudget?: string;
  /** A block-sparse prefill pattern (attention/prefill/). */
  sparsePrefill?: string;
}

export async function generateCommand(dir: string, options: GenerateCommandOptions): Promise<void> {
  if (options.prompt.length === 0) throw new ArgumentError('the prompt is empty; pass some text with --prompt');
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens <= 0) {
    throw new ArgumentError(`--max-new-tokens must be a positive integer, got ${options.maxNewTokens}`);
  }
  const kvCache = kvCacheOf(options);
  const prefill = options.sparsePrefill === undefined ? undefined : sparsePrefill({ pattern: options.sparsePrefill });
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
    if (kvCache?.policy.budget) {
      const context = Math.min(config.maxPositions, ids.length + options.maxNewTokens);
      if (resolveBudget(kvCache.policy.budget, context).fellBackToFull) {
        process.stderr.write(`KV budget ${describeBudget(kvCache.policy.budget)} covers the whole context of at most ${context} tokens: ${kvCache.policy.name} falls back to full attention\n`);
      }
    }
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
      kvCache,
      prefill,
    });
    process.stdout.write(`${decoder.flush()}\n`);
    const { promptTokens, newTokens, prefillMs, decodeMs, kvCacheBytes } = result.stats;
    const decodeSteps = Math.max(1, newTokens - 1);
    process.stderr.write(
      `prompt ${promptTokens} tokens, prefill ${(promptTokens / (prefillMs / 1000)).toFixed(1)} tokens/s; ` +
        `${newTokens} new tokens, decode ${(decodeSteps / (decodeMs / 1000)).toFixed(2)} tokens/s; KV cache ${formatBytes(kvCacheBytes)}\n`,
    );
    if (result.stats.kvPolicy) process.stderr.write(`${policyLine(result.stats.kvPolicy)}\n`);
    if (prefill) process.stderr.write(`${prefillLine(prefill)}\n`);
  } finally {
    backend.dispose();
  }
}

/** The policy's caches from --kv-policy/--kv-budget; errors name the flag at fault. */
function kvCacheOf(options: GenerateCommandOptions): PolicyCaches | undefined {
  if (options.kvPolicy === undefined) {
    if (options.kvBudget !== undefined) throw new ArgumentError('--kv-budget needs --kv-policy (the policy that keeps to it)');
    return undefined;
  }
  const budget = options.kvBudget === undefined ? undefined : parseBudget(options.kvBudget);
  try {
    return policyCaches(options.kvPolicy, { budget });
  } catch (error) {
    // Calibrated policies (Double Sparsity's channels, DuoAttention/LServe's head kinds) need an
    // offline pass over calibration data that this command does not run.
    if (error instanceof ArgumentError && /offline/.test(error.message)) {
      throw new ArgumentError(`--kv-policy ${options.kvPolicy} needs an offline calibration, which the command line does not run (${error.message}); use the library API, or a policy without calibration`);
    }
    throw error;
  }
}

function policyLine(r: KVCacheReport): string {
  const fallback = r.fellBackToFull ? `; the budget covered the context, layers [${r.fullFallbackLayers.join(', ')}] fell back to full attention` : '';
  return (
    `KV policy ${r.policy} (budget ${r.budget ?? 'none'}): keeps ${formatBytes(r.kvBytesKept)} (keys, values and its metadata; the full cache ${formatBytes(r.kvBytesFull)}), ` +
    `reads ${formatBytes(r.bytesReadPerStep)} per decode step${fallback}`
  );
}

function prefillLine(p: SparsePrefill): string {
  const shares = p.keptShare.filter((s) => s !== undefined);
  const mean = shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length);
  return `sparse prefill ${p.description} (blocks of ${p.blockSize}): ${(100 * mean).toFixed(1)}% of the causal blocks computed`;
}
