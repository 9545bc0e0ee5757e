/**
 * `sparsekit train --config FILE --out DIR` and `sparsekit train --resume DIR`: runs a training
 * configuration (JSON or YAML, validated field by field) with a progress bar showing loss,
 * sparsity and throughput, then prints the evaluations and per-layer densities. The folder holds
 * config.json, metrics.jsonl, checkpoints/, report.json and, for language models, model/.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { setBackend } from '../core/engine.js';
import { ArgumentError } from '../core/errors.js';
import { parseTrainingConfig, resolveConfigPaths, type TrainingConfig } from '../training/run-config.js';
import { runTraining, type TrainingReport } from '../training/node/run.js';
import { percent, table } from './format.js';
import { type Progress, progressBar } from './progress.js';

export interface TrainCommandOptions {
  config?: string;
  out?: string;
  resume?: string;
  force?: boolean;
  threads?: number;
}

function printReport(report: TrainingReport): void {
  const last = report.evaluations[report.evaluations.length - 1];
  const rows: (string | number)[][] = [
    ['task', `${report.task} (${report.parameters.toLocaleString('en-US')} parameters)`],
    ['steps', `${report.stepsDone}${report.resumedFrom !== null ? ` (resumed after ${report.resumedFrom})` : ''}`],
    ['final training loss', report.finalLoss === null ? '-' : report.finalLoss.toFixed(4)],
    ...(last ? [[last.metric, last.value.toFixed(4)]] : []),
    ['throughput', `${Math.round(report.itemsPerS).toLocaleString('en-US')} ${report.itemUnit}/s`],
    ['sparsity', percent(report.sparsity)],
    ['seconds', report.seconds.toFixed(1)],
  ];
  process.stdout.write(`${table(['measure', 'value'], rows)}\n`);
  if (report.evaluations.length > 1) {
    process.stdout.write(`${table(['step', report.evaluations[0].metric], report.evaluations.map((e) => [e.step, e.value.toFixed(4)]), [true, true])}\n`);
  }
  if (report.sparsity > 0) {
    process.stdout.write(`${table(['layer', 'shape', 'density'], report.layers.map((l) => [l.name, `${l.rows}x${l.cols}`, percent(l.density)]), [false, true, true])}\n`);
  }
  if (report.modelDir) process.stdout.write(`model folder: ${report.modelDir} (sparsekit generate / eval ppl / inspect load it)\n`);
}

export async function trainCommand(options: TrainCommandOptions): Promise<void> {
  if (options.resume && (options.config || options.out)) throw new ArgumentError('--resume DIR continues a run with its own config; drop --config and --out');
  if (!options.resume && !(options.config && options.out)) throw new ArgumentError('train needs --config FILE and --out DIR (or --resume DIR)');
  let config: TrainingConfig | undefined;
  if (options.config) {
    const text = await readFile(options.config, 'utf8').catch((e: Error) => Promise.reject(new ArgumentError(`cannot read ${options.config}: ${e.message}`)));
    config = resolveConfigPaths(parseTrainingConfig(text, options.config), dirname(resolve(options.config)), resolve);
  }
  const backend = await createCpuBackend({ threads: options.threads ?? config?.run.threads });
  setBackend(backend);
  const progress: { bar: Progress | null } = { bar: null };
  try {
    const report = await runTraining({
      ...(config ? { config } : {}),
      outDir: options.resume ?? options.out!,
      resume: options.resume !== undefined,
      force: options.force,
      onMessage: (message) => process.stderr.write(`${message}\n`),
      onStep: (record, steps) => {
        progress.bar ??= progressBar('train', steps);
        progress.bar.update(record.step, { detail: `loss ${record.loss.toFixed(3)} | sparsity ${percent(record.sparsity)} | ${Math.round(record.itemsPerS)}/s` });
      },
      onEvaluation: (record) => {
        if (!process.stderr.isTTY) process.stderr.write(`step ${record.step}: ${record.metric} ${record.value.toFixed(4)}\n`);
      },
    });
    progress.bar?.stop();
    progress.bar = null;
    printReport(report);
  } finally {
    progress.bar?.stop();
    backend.dispose?.();
  }
}
