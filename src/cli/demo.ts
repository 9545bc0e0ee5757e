/**
 * `sparsekit demo`: the main job on a built-in default. Prunes the trained tinyshakespeare model
 * that ships in assets/ to 2:4 with SparseGPT, calibrated on an excerpt of its training text;
 * reports held-out perplexity, file size and decode speed before and after; shows the sparse
 * checkpoint with `inspect`; and continues one prompt with the dense and the pruned model.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SparsekitError } from '../core/errors.js';
import { writeFileAtomic } from '../io/node/atomic-file.js';
import { inspectSafetensors } from '../io/node/inspect.js';
import { TINYSHAKESPEARE_HELDOUT_EXCERPT, TINYSHAKESPEARE_MODEL, TINYSHAKESPEARE_TRAIN_EXCERPT } from './assets.js';
import { generateCommand } from './generate.js';
import { renderInspectReport } from './inspect.js';
import { pruneCommand } from './prune.js';

const MARKER = '.sparsekit-demo';
const PROMPT = 'ROMEO:\n';
const NEW_TOKENS = 48;

export async function demoCommand(options: { out: string; threads?: number }): Promise<void> {
  const dir = options.out;
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MARKER))) {
      throw new SparsekitError('E_EXISTS', `${dir} exists and was not made by \`sparsekit demo\`; choose another --out`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, MARKER), 'made by `sparsekit demo`; safe to delete\n');
  const pruned = join(dir, 'tinyshakespeare-2of4');
  const report = join(dir, 'prune-report.json');

  process.stdout.write(
    `$ sparsekit prune ${TINYSHAKESPEARE_MODEL} --method sparsegpt --sparsity 0.5 --pattern 2:4 ` +
      `--calib ${TINYSHAKESPEARE_TRAIN_EXCERPT} --eval-text ${TINYSHAKESPEARE_HELDOUT_EXCERPT} --out ${pruned} --report ${report}\n`,
  );
  await pruneCommand(TINYSHAKESPEARE_MODEL, {
    method: 'sparsegpt',
    sparsity: 0.5,
    pattern: '2:4',
    calib: [TINYSHAKESPEARE_TRAIN_EXCERPT],
    evalText: TINYSHAKESPEARE_HELDOUT_EXCERPT,
    out: pruned,
    report,
    threads: options.threads,
  });

  process.stdout.write(`\n$ sparsekit inspect ${pruned}\n`);
  process.stdout.write(renderInspectReport(await inspectSafetensors(pruned)));

  for (const model of [TINYSHAKESPEARE_MODEL, pruned]) {
    process.stdout.write(`\n$ sparsekit generate ${model} --prompt ${JSON.stringify(PROMPT)} --max-new-tokens ${NEW_TOKENS}\n`);
    await generateCommand(model, { prompt: PROMPT, maxNewTokens: NEW_TOKENS, threads: options.threads });
  }
}
