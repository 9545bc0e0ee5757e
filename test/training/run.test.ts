/**
 * Training runs from a config: a resumed run ends bitwise where the uninterrupted one does (the
 * same batches, mask updates and optimizer state), a non-finite loss stops the run with the last
 * finite checkpoint kept and reported, config mistakes are named by field, and a trained
 * language model is saved as a folder the inference engine loads.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DecoderModel } from '../../src/models/llama.js';
import { loadModelFolder } from '../../src/models/node/model-folder.js';
import { checkpointSteps } from '../../src/training/node/checkpoint.js';
import { runTraining, type TrainingReport } from '../../src/training/node/run.js';
import { parseTrainingConfig, type TrainingConfig, validateTrainingConfig } from '../../src/training/run-config.js';
import { cpuBackend } from '../helpers/cpu.js';

let dir: string;
let textPath: string;

before(async () => {
  await cpuBackend();
  dir = await mkdtemp(join(tmpdir(), 'sparsekit-train-'));
  textPath = join(dir, 'corpus.txt');
  // A small corpus with structure a tiny model picks up within a few steps.
  const lines = Array.from({ length: 400 }, (_, i) => `line ${i % 17}: the quick brown fox jumps over the lazy dog ${i % 5}.`);
  await writeFile(textPath, lines.join('\n'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lmConfig(overrides: Record<string, unknown> = {}): TrainingConfig {
  return validateTrainingConfig(
    {
      model: { type: 'llama', hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4, kvHeads: 2, maxPositions: 32 },
      data: { type: 'text', path: textPath },
      optimizer: { learningRate: 0.01, betas: [0.9, 0.95], schedule: { type: 'warmup-cosine', warmupSteps: 2 } },
      sparsity: { method: 'rigl', sparsity: 0.8, interval: 3 },
      run: { steps: 12, batchSize: 4, seqLen: 16, evalEvery: 6, evalWindows: 8, checkpointEvery: 6, clipNorm: 1 },
      ...overrides,
    },
    'test config',
  );
}

describe('training runs', () => {
  it('a language model trains, saves a loadable sparse model folder, and a resumed run ends bitwise where the uninterrupted one does', async () => {
    const straight = join(dir, 'straight');
    const report = await runTraining({ config: lmConfig(), outDir: straight });
    assert.equal(report.status, 'completed');
    assert.equal(report.stepsDone, 12);
    assert.ok(Math.abs(report.sparsity - 0.8) < 0.01, `sparsity ${report.sparsity}`);
    const [first, last] = [report.evaluations[0], report.evaluations[report.evaluations.length - 1]];
    assert.equal(first.metric, 'heldOutLoss');
    assert.ok(last.value < Math.log(256), `held-out loss ${last.value} is no better than uniform over bytes`);
    assert.deepEqual(await checkpointSteps(straight), [6, 12]);

    // Interrupted after step 6: drop what came later, then resume.
    const resumed = join(dir, 'resumed');
    await cp(straight, resumed, { recursive: true });
    await rm(join(resumed, 'checkpoints', 'step-0000012'), { recursive: true });
    await rm(join(resumed, 'model'), { recursive: true });
    const again = await runTraining({ outDir: resumed, resume: true });
    assert.equal(again.resumedFrom, 6);
    assert.deepEqual(again.evaluations, report.evaluations);
    for (const file of ['parameters.safetensors', 'optimizer.safetensors', 'masks.safetensors']) {
      const a = await readFile(join(straight, 'checkpoints', 'step-0000012', file));
      const b = await readFile(join(resumed, 'checkpoints', 'step-0000012', file));
      assert.ok(a.equals(b), `${file} differs after resuming`);
    }
    const metrics = (await readFile(join(resumed, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(metrics.filter((l) => !l.includes('metric')).length, 12, 'one line per step, none repeated');

    const loaded = await loadModelFolder(join(straight, 'model'));
    assert.equal(loaded.tokenizer?.encode('fox').join(','), [...Buffer.from('fox')].join(','));
    const model = new DecoderModel(loaded.config, loaded.weights);
    const cache = model.createCache(4);
    const logits = model.forward([{ tokens: [108, 105, 110, 101], cache }]);
    assert.ok((logits.readSync() as Float32Array).every(Number.isFinite));
  });

  it('a classifier run on the teacher task keeps its masks at the target and resumes exactly', async () => {
    const config = validateTrainingConfig(
      {
        model: { type: 'mlp', hidden: [32] },
        data: { type: 'teacher', trainCount: 512, testCount: 256 },
        optimizer: { learningRate: 0.01 },
        sparsity: { method: 'set', sparsity: 0.9, distribution: 'uniform', interval: 4 },
        run: { steps: 16, batchSize: 32, checkpointEvery: 8 },
      },
      'test config',
    );
    const a = join(dir, 'mlp-a');
    const report = await runTraining({ config, outDir: a });
    for (const layer of report.layers) assert.ok(Math.abs(layer.density - 0.1) < 0.01, `${layer.name} density ${layer.density}`);
    assert.equal(report.evaluations[0].metric, 'testAccuracy');
    const b = join(dir, 'mlp-b');
    await cp(a, b, { recursive: true });
    await rm(join(b, 'checkpoints', 'step-0000016'), { recursive: true });
    const again: TrainingReport = await runTraining({ outDir: b, resume: true });
    assert.equal(again.evaluations[0].value, report.evaluations[0].value);
    const pa = await readFile(join(a, 'checkpoints', 'step-0000016', 'parameters.safetensors'));
    const pb = await readFile(join(b, 'checkpoints', 'step-0000016', 'parameters.safetensors'));
    assert.ok(pa.equals(pb), 'parameters differ after resuming');
  });

  it('a non-finite loss stops the run, reports the step, and keeps the last finite checkpoint', async () => {
    const out = join(dir, 'diverges');
    // SGD at 1e30 overflows the weights within a few steps.
    const config = lmConfig({ optimizer: { type: 'sgd', learningRate: 1e30, momentum: 0 }, sparsity: { method: 'dense' }, run: { steps: 20, batchSize: 2, seqLen: 8, checkpointEvery: 1 } });
    await assert.rejects(runTraining({ config, outDir: out }), /non-finite|NaN|Infinity/);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as TrainingReport;
    assert.equal(report.status, 'stopped');
    assert.match(report.reason ?? '', /last finite checkpoint/);
    assert.ok(report.stepsDone < 20);
    const steps = await checkpointSteps(out);
    for (const step of steps) assert.ok(step <= report.stepsDone);
  });

  it('names config mistakes by field, and refuses to overwrite or to resume a folder without a run', async () => {
    assert.throws(
      () => parseTrainingConfig('model: { type: llama }\ndata: { type: text, path: x }\noptimizer: { learningRate: -1 }\nsparsity: { method: rigl, sparsity: 1 }\nrun: { steps: 0, batchSize: 4, extra: 1 }\n', 'bad.yaml'),
      (e: Error) => ['optimizer.learningRate', 'sparsity.sparsity', 'run.steps', 'run'].every((field) => e.message.includes(field)) && /extra/.test(e.message),
    );
    assert.throws(() => validateTrainingConfig({ model: { type: 'mlp' }, data: { type: 'text', path: 'x' }, optimizer: { learningRate: 1 }, run: { steps: 1, batchSize: 1 } }, 'c'), /llama model trains on text/);
    assert.throws(() => parseTrainingConfig('{ not json', 'c.json'), /not valid JSON/);
    assert.throws(() => validateTrainingConfig({ model: { type: 'llama' }, data: { type: 'text', path: 'x' }, optimizer: { learningRate: 1 }, sparsity: { method: 'lottery' }, run: { steps: 1, batchSize: 1 } }, 'c'), /sparsity\.method/);
    await assert.rejects(runTraining({ config: lmConfig(), outDir: join(dir, 'straight') }), /already holds files; pass --force/);
    await assert.rejects(runTraining({ outDir: dir, resume: true }), /not a training run folder/);
  });
});
