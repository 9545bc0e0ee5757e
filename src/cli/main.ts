/** The `sparsekit` command line: thin wrappers over the library, one file per command. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SparsekitError } from '../core/errors.js';
import { benchCommand, BENCH_SUITES } from './bench.js';
import { demoCommand } from './demo.js';
import { EXIT } from './exit-codes.js';
import { evalCommand, EVAL_TASKS } from './eval.js';
import { generateCommand } from './generate.js';
import { inspectCommand } from './inspect.js';
import { trainCommand } from './train.js';
import { pruneCommand } from './prune.js';
import { ALLOCATION_NAMES, METHOD_NAMES, REFINER_NAMES } from '../pruning/recipe.js';
import { POLICY_NAMES } from '../attention/registry.js';
import { PREFILL_PATTERN_NAMES } from '../attention/prefill/sparse-prefill.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('sparsekit')
    .description('Dynamic sparsity for neural networks: sparse weights, activations, attention and KV caches that run faster.')
    .version(pkg.version)
    .exitOverride()
    .showHelpAfterError();

  program
    .command('inspect')
    .description('list the tensors of a .safetensors file or model folder: dtype, shape, sparsity, bytes')
    .argument('<path>', 'a .safetensors file, or a folder holding them (sharded models via model.safetensors.index.json)')
    .option('--json', 'print JSON instead of a table')
    .action((path: string, options: { json?: boolean }) => inspectCommand(path, options));

  program
    .command('bench')
    .description(`run a benchmark suite (${BENCH_SUITES.join(', ')})`)
    .argument('<suite>', `one of: ${BENCH_SUITES.join(', ')}`)
    .option('--quick', 'fewer shapes and runs (about a minute)')
    .option('--json <file>', 'also write { "records": [...] } to FILE')
    .option('--threads <n>', 'threads for our kernels and the peer (default: all cores)', positiveInt)
    .option('--model <dir>', 'pruning: the trained model folder (default: the tinyshakespeare asset); scbench: a model that does the tasks (default: assets/models/scbench-retrieval)')
    .option('--text <file>', 'pruning and training: the tinyshakespeare corpus, first 90% for calibration or training, last 10% held out (default: shared tinyshakespeare.txt)')
    .action((suite: string, options: { quick?: boolean; json?: string; threads?: number; model?: string; text?: string }) => benchCommand(suite, options));

  program
    .command('generate')
    .description('continue a prompt with a model folder (config.json, *.safetensors, tokenizer.json), streaming tokens')
    .argument('<model-dir>', 'a Hugging Face model folder (Llama, Qwen2 or Mistral; dense or sparse weights)')
    .requiredOption('--prompt <text>', 'the text to continue')
    .option('--max-new-tokens <n>', 'new tokens at most', integer, 64)
    .option('--temperature <t>', '0 for greedy (default), else sampling temperature', number)
    .option('--top-k <k>', 'sample among the k most likely tokens', integer)
    .option('--top-p <p>', 'sample among the most likely tokens holding probability p', number)
    .option('--seed <s>', 'seed of the sampler', integer)
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveInt)
    .option('--kv-policy <name>', `KV-cache policy: ${POLICY_NAMES.join(', ')}`)
    .option('--kv-budget <b>', 'its budget: tokens (1024), a fraction of the context (1/16, 0.0625) or a percentage (6.25%)')
    .option('--sparse-prefill <pattern>', `block-sparse prompt attention: ${PREFILL_PATTERN_NAMES.join(', ')}`)
    .action((dir: string, options: Parameters<typeof generateCommand>[1]) => generateCommand(dir, options));

  program
    .command('eval')
    .description(`evaluate a model folder (${EVAL_TASKS.join(', ')})`)
    .argument('<task>', `one of: ${EVAL_TASKS.join(', ')}`)
    .argument('<model-dir>', 'a Hugging Face model folder')
    .requiredOption('--text <file>', 'UTF-8 text to score')
    .option('--seq-len <n>', 'tokens per window (default: min(context, 1024))', positiveInt)
    .option('--stride <n>', 'tokens the window advances (default: seq-len)', positiveInt)
    .option('--json <file>', 'also write { "records": [...] } to FILE')
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveInt)
    .action((task: string, dir: string, options: { text: string; seqLen?: number; stride?: number; json?: string; threads?: number }) => evalCommand(task, dir, options));

  program
    .command('prune')
    .description('prune a model folder after training (post-training pruning) and write the sparse model folder with a report')
    .argument('<model-dir>', 'a Hugging Face model folder with dense weights')
    .requiredOption('--out <dir>', 'where to write the pruned model folder (refused if it exists, unless --force)')
    .option('--method <name>', `one of: ${METHOD_NAMES.join(', ')}`)
    .option('--sparsity <s>', 'fraction of the Linear weights to remove, in [0, 1)', number)
    .option('--pattern <p>', "unstructured (default), N:M such as 2:4, block:RxC such as block:16x16, channels or heads")
    .option('--allocation <a>', `layer budgets: ${ALLOCATION_NAMES.join(', ')} (default uniform)`)
    .option('--refine <r>', `refine the masks after pruning: ${REFINER_NAMES.join(', ')}`)
    .option('--group <g>', 'compare scores within each output row (row, the Wanda paper) or the whole layer (layer)')
    .option('--layers <regex>', 'only the Linears whose Hugging Face name matches')
    .option('--calib <files...>', 'calibration text files (UTF-8)')
    .option('--calib-sequences <n>', 'calibration windows (default 64)', positiveInt)
    .option('--calib-length <n>', 'tokens per calibration window (default 128)', positiveInt)
    .option('--seed <s>', 'seed for calibration sampling and random methods', integer)
    .option('--recipe <file>', 'a JSON or YAML recipe of one or more steps instead of the flags above')
    .option('--store <mode>', 'sparse (default): compressed sparse tensors; dense: zero-filled tensors for other runtimes')
    .option('--eval-text <file>', 'held-out text: report perplexity before and after')
    .option('--report <file>', 'also write the report as JSON')
    .option('--force', 'replace --out if it exists')
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveInt)
    .action((dir: string, options: Parameters<typeof pruneCommand>[1]) => pruneCommand(dir, options));

  program
    .command('train')
    .description('train a model (Llama-family LM on text, MLP or CNN classifier) dense or with a sparse-training method, from a JSON/YAML config')
    .option('--config <file>', 'the training config (model, data, optimizer, sparsity, run); see docs/training.md')
    .option('--out <dir>', 'the run folder: config, metrics.jsonl, checkpoints, report.json, model/ (refused if it holds files, unless --force)')
    .option('--resume <dir>', 'continue the run in DIR from its newest checkpoint')
    .option('--force', 'start over in a non-empty --out')
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveInt)
    .action((options: Parameters<typeof trainCommand>[0]) => trainCommand(options));

  program
    .command('demo')
    .description('prune the built-in trained tinyshakespeare model to 2:4 with SparseGPT, report before/after, inspect it, and generate with both')
    .option('--out <dir>', 'where to write the pruned model and its report', 'sparsekit-demo')
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveInt)
    .action((options: { out: string; threads?: number }) => demoCommand(options));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof SparsekitError) {
      process.stderr.write(`sparsekit: ${error.message}\n`);
      return EXIT.input;
    }
    process.stderr.write(`sparsekit: unexpected error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.internal;
  }
}
