/**
 * tools/fixtures/scbench-task-stream.mjs, the SCBench training data of train_retrieval_model.py's
 * multi-task mode: each sample's bytes are exactly the multi-turn cache contents that modes.ts
 * builds for the same generated sample (regenerated here), each answer span holds exactly the gold
 * answer and the newline that ends greedy decoding, and the gold scores full marks (while a span
 * one byte off does not). Also: serve mode answers as the command line does, --count 0 streams
 * lazily, bad tasks and options fail by name, and the proposed scbench-tasks.multitask.json
 * generates at the bench's sizes and seeds with unambiguous questions.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  SCBENCH_TASK_NAMES,
  type ScbenchSample,
  generateScbenchSample,
  promptAt,
  scoreTurn,
  sharedContextPlan,
} from '../../src/bench/scbench/index.js';

const SCRIPT = fileURLToPath(new URL('../../../tools/fixtures/scbench-task-stream.mjs', import.meta.url));
const MULTITASK = fileURLToPath(new URL('../../../tools/fixtures/scbench-tasks.multitask.json', import.meta.url));
const ASSET_TASKS = fileURLToPath(new URL('../../../assets/models/scbench-retrieval/scbench-tasks.json', import.meta.url));

interface SuiteFile {
  readonly tasks: Record<string, Record<string, unknown>>;
  readonly contextLength: number;
  readonly quickContextLength: number;
}

interface StreamSample {
  readonly task: string;
  readonly seed: number;
  readonly contextLength: number;
  readonly contextBytes: number;
  readonly turns: number;
  readonly ids: number[];
  readonly answers: [number, number][];
}

const suite = JSON.parse(readFileSync(MULTITASK, 'utf8')) as SuiteFile;

function run(args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', input, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function stream(task: string, context: number, turns: number, seed: number, count: number): StreamSample[] {
  const r = run(['--task', task, '--context', String(context), '--turns', String(turns), '--seed', String(seed), '--count', String(count), '--options', JSON.stringify(suite.tasks[task])]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line) as StreamSample);
}

const bytesOf = (text: string): number[] => [...Buffer.from(text, 'utf8')];
const textOf = (ids: readonly number[]): string => Buffer.from(ids).toString('utf8');

/** The harness's prediction from generated text: what precedes the stop (harness.ts decodeGreedy). */
const beforeStop = (text: string): string => (text.includes('\n') ? text.slice(0, text.indexOf('\n')) : text);

describe('scbench task stream: the multi-turn layout of modes.ts', () => {
  const context = 600;
  const turns = 3;
  for (const task of SCBENCH_TASK_NAMES) {
    it(`${task}: bytes, answer spans and scores match the regenerated sample`, () => {
      const got = stream(task, context, turns, 11, 3);
      assert.equal(got.length, 3);
      got.forEach((line, k) => {
        const seed = 11 + k;
        const sample: ScbenchSample = generateScbenchSample(task, { ...suite.tasks[task], seed, contextLength: context, turns });
        const plan = sharedContextPlan(sample, 'multi-turn');
        const last = plan.steps.length - 1;
        assert.equal(line.task, task);
        assert.equal(line.seed, seed);
        assert.equal(line.turns, turns);
        assert.equal(line.contextBytes, Buffer.byteLength(sample.context));
        // The whole sequence: the cache after the last turn's question, then its answer and the stop.
        assert.deepEqual(line.ids, bytesOf(promptAt(plan, last) + sample.turns[last].answer + '\n'));
        assert.equal(line.answers.length, turns);
        line.answers.forEach(([start, end], t) => {
          const turn = sample.turns[t];
          // Each answer starts where the prompt of its step ends (the cache when decoding begins).
          assert.equal(start, Buffer.byteLength(promptAt(plan, t)), `turn ${t} start`);
          assert.ok(textOf(line.ids.slice(0, start)).endsWith(turn.question), `turn ${t} follows its question`);
          const answer = textOf(line.ids.slice(start, end));
          assert.equal(answer, `${turn.answer}\n`, `turn ${t} span`);
          assert.equal(scoreTurn(beforeStop(answer), turn), 1, `turn ${t} gold scores full marks`);
          assert.ok(scoreTurn(beforeStop(answer.slice(1)), turn) < 1, `turn ${t}: a span one byte late must not score full marks`);
        });
      });
    });
  }
});

describe('scbench task stream: modes and failures', () => {
  it('serve mode answers each request with the samples the command line gives', () => {
    const task = 'retr.multihop';
    const requests = [{ context: 300, turns: 2, seed: 5, count: 2 }, { context: 900, turns: 4, seed: 40, count: 1 }];
    const r = run(['--task', task, '--options', JSON.stringify(suite.tasks[task]), '--serve'], requests.map((q) => JSON.stringify(q)).join('\n') + '\n');
    assert.equal(r.status, 0, r.stderr);
    const served = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as StreamSample);
    const expected = requests.flatMap((q) => stream(task, q.context, q.turns, q.seed, q.count));
    assert.deepEqual(served, expected);
    assert.deepEqual(served.map((s) => [s.seed, s.contextLength]), [[5, 300], [6, 300], [40, 900]]);
  });

  it('--count 0 streams until the reader stops', async () => {
    const child = spawn(process.execPath, [SCRIPT, '--task', 'math.find', '--context', '200', '--turns', '2', '--count', '0', '--options', '{"style":"compact"}']);
    let text = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.split('\n').length > 4) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited with ${code} before streaming 4 samples`)));
    });
    assert.equal(child.exitCode, null, 'still generating');
    child.kill();
    const seeds = text.split('\n').slice(0, 4).map((line) => (JSON.parse(line) as StreamSample).seed);
    assert.deepEqual(seeds, [0, 1, 2, 3]);
  });

  it('an unknown task fails, naming it and the known tasks', () => {
    const r = run(['--task', 'retr.nope', '--context', '100']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown task 'retr\.nope' \(known: retr\.kv, retr\.prefix-suffix, retr\.multihop, math\.find, mix\.needles\)/);
    assert.equal(r.stdout, '');
  });

  it('options may not set what the flags set, and a context too small fails with the generator\'s reason', () => {
    const reserved = run(['--task', 'retr.kv', '--context', '100', '--options', '{"seed":3}']);
    assert.equal(reserved.status, 2);
    assert.match(reserved.stderr, /--options may not set seed/);
    const small = run(['--task', 'retr.prefix-suffix', '--context', '50', '--turns', '5', '--options', JSON.stringify(suite.tasks['retr.prefix-suffix'])]);
    assert.equal(small.status, 2);
    assert.match(small.stderr, /retr\.prefix-suffix seed 0: .*need 25 strings, but the list holds 5/);
  });
});

describe('scbench task stream: the proposed multi-task options', () => {
  it('keeps Retr.KV\'s options and the bench sizes of the asset', () => {
    const asset = JSON.parse(readFileSync(ASSET_TASKS, 'utf8')) as SuiteFile;
    assert.deepEqual(suite.tasks['retr.kv'], asset.tasks['retr.kv']);
    assert.equal(suite.contextLength, asset.contextLength);
    assert.equal(suite.quickContextLength, asset.quickContextLength);
    assert.deepEqual(Object.keys(suite.tasks), [...SCBENCH_TASK_NAMES]);
    for (const task of SCBENCH_TASK_NAMES) assert.equal(suite.tasks[task].style, 'compact', task);
  });

  for (const task of SCBENCH_TASK_NAMES) {
    it(`${task}: the bench's samples generate and each question names one item`, () => {
      // The bench asks seeds 0..3 at contextLength (quick: seed 0 at quickContextLength), 5 turns.
      for (const contextLength of [suite.contextLength, suite.quickContextLength]) {
        for (let seed = 0; seed < 4; seed++) {
          const sample = generateScbenchSample(task, { ...suite.tasks[task], seed, contextLength });
          assert.equal(sample.turns.length, 5);
          // Filled to within one item (a filler sentence is the longest, about 110 characters).
          assert.ok(sample.context.length > contextLength - 128 && sample.context.length <= contextLength, `${task} ${contextLength}: ${sample.context.length}`);
          for (const turn of sample.turns) assertUnambiguous(task, sample, turn.question, turn.answer);
        }
      }
    });
  }
});

/** The item a compact question names occurs once in the context (so exactly one answer is right). */
function assertUnambiguous(task: string, sample: ScbenchSample, question: string, answer: string): void {
  const lines = sample.context.split('\n');
  const asked = question.slice(1, -1); // '?...:'
  const count = (pred: (line: string) => boolean) => lines.filter(pred).length;
  switch (task) {
    case 'retr.kv':
      assert.equal(count((l) => l.startsWith(`${asked}:`)), 1, question);
      assert.ok(lines.includes(`${asked}:${answer}`));
      break;
    case 'retr.prefix-suffix': {
      const [prefix, suffix] = asked.split('*');
      assert.deepEqual(lines.filter((l) => l !== '' && l.startsWith(prefix) && l.endsWith(suffix)), [answer], question);
      break;
    }
    case 'retr.multihop': {
      const names = answer.split(' ');
      assert.equal(names.length, 3, 'hops 2: three names');
      assert.equal(count((l) => l.endsWith(`=${asked}`)), 1, question);
      names.forEach((name, i) => assert.ok(lines.includes(`${name}=${i === 0 ? asked : names[i - 1]}`), `${question} ${name}`));
      break;
    }
    case 'math.find':
      assert.ok(sample.context.split(/\s+/).includes(answer), question);
      break;
    case 'mix.needles': {
      const line = asked.startsWith('#') ? `${asked}=${answer}` : `${asked}:${answer}`;
      assert.equal(sample.context.split(asked).length - 1, 1, `${question} occurs once`);
      assert.ok(lines.includes(line), question);
      break;
    }
    default:
      assert.fail(`no check for ${task}`);
  }
}
