/**
 * `sparsekit prune <model-dir> --method M --sparsity S [--pattern P] [--allocation A]
 * [--refine dsnot] [--calib FILE ...] --out DIR`, or `--recipe FILE` (JSON or YAML, several
 * steps): prunes, writes the model folder atomically, and reports per-layer budgets and
 * sparsities with perplexity, file size and decode speed before and after, measured on the spot.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { ArgumentError, SparsekitError } from '../core/errors.js';
import { writeFileAtomic } from '../io/node/atomic-file.js';
import { readUtf8File } from '../io/node/text-file.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { generate } from '../models/generate.js';
import { DecoderModel } from '../models/llama.js';
import { checkpointValuesDType, namedWeights } from '../models/named-weights.js';
import { loadModelFolder } from '../models/node/model-folder.js';
import { saveModelFolder } from '../models/node/save-model-folder.js';
import { perplexity } from '../models/perplexity.js';
import { applyPruneSteps } from '../pruning/apply-steps.js';
import { needsCalibration } from '../pruning/pipeline.js';
import { sampleCalibration } from '../pruning/calibration.js';
import { parseRecipe, type PruneRecipe, validateRecipe } from '../pruning/recipe.js';
import type { ModelMeasurement, PruneReport } from '../pruning/report.js';
import { formatBytes, percent, ratio, table } from './format.js';
import { progressBar } from './progress.js';

export interface PruneCommandOptions {
  out: string;
  method?: string;
  sparsity?: number;
  pattern?: string;
  allocation?: string;
  refine?: string;
  group?: string;
  layers?: string;
  calib?: string[];
  calibSequences?: number;
  calibLength?: number;
  seed?: number;
  recipe?: string;
  store?: string;
  evalText?: string;
  report?: string;
  force?: boolean;
  threads?: number;
}

/** The recipe from --recipe, or from the flags (validated by the same schema either way). */
async function recipeOf(options: PruneCommandOptions): Promise<PruneRecipe> {
  if (options.recipe) {
    const stepFlags = ['method', 'sparsity', 'pattern', 'allocation', 'refine', 'group', 'layers'] as const;
    const given = stepFlags.filter((f) => options[f] !== undefined);
    if (given.length > 0) throw new ArgumentError(`--recipe sets the steps; drop --${given.join(', --')} or put them in the recipe`);
    return parseRecipe(await readFile(options.recipe, 'utf8'), options.recipe);
  }
  if (options.method === undefined || options.sparsity === undefined) throw new ArgumentError('prune needs --method and --sparsity (or --recipe FILE)');
  return validateRecipe(
    {
      calibration: { files: options.calib ?? [], sequences: options.calibSequences, length: options.calibLength, seed: options.seed },
      steps: [{ method: options.method, sparsity: options.sparsity, pattern: options.pattern, allocation: options.allocation, refine: options.refine, group: options.group, layers: options.layers, seed: options.seed }],
      store: options.store,
    },
    'the command line',
  );
}

export async function pruneCommand(dir: string, options: PruneCommandOptions): Promise<void> {
  const started = performance.now();
  const recipe = await recipeOf(options);
  const calibrate = recipe.steps.some(needsCalibration);
  if (calibrate && recipe.calibration.files.length === 0) {
    throw new ArgumentError('this method or allocation reads calibration statistics: pass --calib FILE (text the model should see, e.g. part of its training data)');
  }
  // Refuse an existing --out before the work, not after it (saveModelFolder checks again at the end).
  if (!options.force && existsSync(options.out)) throw new SparsekitError('E_EXISTS', `${options.out} already exists; pass --force to replace it`);
  const backend = await createCpuBackend({ threads: options.threads });
  try {
    const loaded = await loadModelFolder(dir, { backend });
    const tokenizer = loaded.tokenizer;
    if (!tokenizer) throw new ArgumentError(`${dir} has no tokenizer.json; pruning tokenizes calibration and evaluation text`);
    let model = new DecoderModel(loaded.config, loaded.weights);
    const evalIds = options.evalText ? tokenizer.encode(await readUtf8File(options.evalText)) : null;
    const before = await measure(model, tokenizer, evalIds, loaded.source.bytes);

    let calibration: number[][] = [];
    if (calibrate) {
      const texts = await Promise.all(recipe.calibration.files.map(readUtf8File));
      const tokens = texts.flatMap((t) => tokenizer.encode(t));
      calibration = sampleCalibration(tokens, recipe.calibration);
    }
    const configJson = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    let bar: ReturnType<typeof progressBar> | null = null;
    const outcome = await applyPruneSteps(model, calibration, recipe.steps, {
      stepStarted: (i) => (bar = progressBar(`step ${i + 1}/${recipe.steps.length}`, 1)),
      progress: (stage, done, total) => bar?.update(total > 0 ? done / total : 0, { detail: stage }),
      stepFinished: () => bar?.stop(),
    });
    const { stepSparsities, layers } = outcome;
    model = outcome.model;

    await saveModelFolder(options.out, {
      config: { ...configJson, ...outcome.configPatch },
      weights: namedWeights(model.weights, loaded.config.tieWordEmbeddings),
      tokenizerFrom: dir,
      storeDense: recipe.store === 'dense',
      // Keep the source's precision on disk (weights compute in f32 either way).
      valuesDType: checkpointValuesDType(configJson),
      force: options.force,
    });
    // Measure what was written: it must load, and its speed is the speed users get.
    const reloaded = await loadModelFolder(options.out, { backend });
    const after = await measure(new DecoderModel(reloaded.config, reloaded.weights), tokenizer, evalIds, reloaded.source.bytes);
    const report: PruneReport = {
      model: dir,
      out: options.out,
      recipe,
      before,
      after,
      stepSparsities,
      layers,
      calibrationTokens: calibration.reduce((s, c) => s + c.length, 0),
      seconds: (performance.now() - started) / 1000,
    };
    process.stdout.write(renderReport(report));
    if (options.report) await writeFileAtomic(options.report, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    backend.dispose();
  }
}

const DECODE_PROMPT_TOKENS = 16;
const DECODE_NEW_TOKENS = 32;

/** Perplexity (when evaluation ids are given), greedy decode speed (median of 3), file bytes. */
async function measure(model: DecoderModel, tokenizer: TextTokenizer, evalIds: number[] | null, fileBytes: number): Promise<ModelMeasurement> {
  let ppl: number | null = null;
  if (evalIds) {
    const seqLen = Math.min(model.config.maxPositions, 512);
    ppl = (await perplexity(model, evalIds, { seqLen, stride: seqLen })).perplexity;
  }
  const prompt = tokenizer.encode('\n').slice(0, 1);
  const promptIds = Array.from({ length: DECODE_PROMPT_TOKENS }, (_, i) => (prompt[0] ?? 0) + (i % 2));
  const speeds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await generate(model, [promptIds], { maxNewTokens: DECODE_NEW_TOKENS, minNewTokens: DECODE_NEW_TOKENS });
    speeds.push((r.stats.newTokens - 1) / (r.stats.decodeMs / 1000));
  }
  speeds.sort((a, b) => a - b);
  return { perplexity: ppl, decodeTokensPerS: speeds[1], fileBytes };
}

export function renderReport(r: PruneReport): string {
  const layerRows = r.layers.map((l) => [l.name, `${l.rows}x${l.cols}`, percent(l.budget), percent(l.sparsity), l.format, formatBytes(l.bytes)]);
  const layersTable = table(['Linear', 'shape', 'budget', 'sparsity', 'format', 'bytes'], layerRows, [false, false, true, true, false, true]);
  const fmt = (x: number | null, digits = 3) => (x === null ? 'n/a' : x.toFixed(digits));
  const summary = table(
    ['', 'perplexity', 'decode tokens/s', 'file size'],
    [
      ['before', fmt(r.before.perplexity), r.before.decodeTokensPerS.toFixed(1), formatBytes(r.before.fileBytes)],
      ['after', fmt(r.after.perplexity), r.after.decodeTokensPerS.toFixed(1), formatBytes(r.after.fileBytes)],
      ['change', r.before.perplexity && r.after.perplexity ? ratio(r.after.perplexity / r.before.perplexity) : 'n/a', ratio(r.after.decodeTokensPerS / r.before.decodeTokensPerS), ratio(r.after.fileBytes / r.before.fileBytes)],
    ],
    [false, true, true, true],
  );
  const sparsity = r.stepSparsities.map((s) => percent(s)).join(' -> ');
  return `${layersTable}\n\nLinear sparsity ${sparsity}; ${r.calibrationTokens} calibration tokens; ${r.seconds.toFixed(1)} s; wrote ${r.out}\n${summary}\n`;
}
