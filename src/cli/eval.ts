/**
 * `sparsekit eval ppl <model-dir> --text FILE [--seq-len L --stride S] [--json FILE]`:
 * perplexity of a text file with a progress bar; prints perplexity, tokens evaluated,
 * tokens/s and peak memory.
 */
import { createCpuBackend } from '../backends/cpu/node/index.js';
import { ArgumentError } from '../core/errors.js';
import { writeFileAtomic } from '../io/node/atomic-file.js';
import { readUtf8File } from '../io/node/text-file.js';
import { DecoderModel } from '../models/llama.js';
import { loadModelFolder } from '../models/node/model-folder.js';
import { perplexity } from '../models/perplexity.js';
import { formatBytes, table } from './format.js';
import { progressBar } from './progress.js';

export const EVAL_TASKS = ['ppl'] as const;

export interface EvalCommandOptions {
  text: string;
  seqLen?: number;
  stride?: number;
  json?: string;
  threads?: number;
}

export async function evalCommand(task: string, dir: string, options: EvalCommandOptions): Promise<void> {
  if (!(EVAL_TASKS as readonly string[]).includes(task)) throw new ArgumentError(`unknown evaluation '${task}'; evaluations: ${EVAL_TASKS.join(', ')}`);
  const text = await readUtf8File(options.text);
  const backend = await createCpuBackend({ threads: options.threads });
  try {
    const { config, weights, tokenizer } = await loadModelFolder(dir, { backend });
    if (!tokenizer) throw new ArgumentError(`${dir} has no tokenizer.json; eval ppl needs one to tokenize ${options.text}`);
    const model = new DecoderModel(config, weights);
    const seqLen = options.seqLen ?? Math.min(config.maxPositions, 1024);
    const stride = options.stride ?? seqLen;
    const ids = tokenizer.encode(text);
    const bar = progressBar('perplexity', Math.max(1, ids.length - 1), ' tokens');
    backend.heap.resetPeak();
    const start = performance.now();
    const result = await perplexity(model, ids, { seqLen, stride, onProgress: (done) => bar.update(done) });
    const seconds = (performance.now() - start) / 1000;
    bar.stop();
    const record = {
      task: 'ppl',
      model: dir,
      text: options.text,
      seqLen,
      stride,
      perplexity: result.perplexity,
      meanNll: result.meanNll,
      tokens: result.tokens,
      windows: result.windows,
      seconds,
      tokensPerS: result.tokens / seconds,
      peakHeapBytes: backend.heap.peakBytesInUse,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    process.stdout.write(
      `${table(['perplexity', 'tokens', 'windows', 'tokens/s', 'peak tensor memory', 'peak RSS'], [[
        record.perplexity.toFixed(4),
        record.tokens,
        record.windows,
        record.tokensPerS.toFixed(1),
        formatBytes(record.peakHeapBytes),
        formatBytes(record.peakRssBytes),
      ]], [true, true, true, true, true, true])}\n`,
    );
    if (options.json) await writeFileAtomic(options.json, `${JSON.stringify({ records: [record] }, null, 2)}\n`);
  } finally {
    backend.dispose();
  }
}
