/**
 * The SCBench harness (src/bench/scbench/harness.ts) end to end on a tiny random byte-level model:
 * both shared-context modes with two policies, what each step appends to the shared cache, that
 * multi-request never changes it, that a replayed fork and a recording's fork continue exactly like
 * the cache they copy, and the finding's bars on crafted records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyKVCache } from '../../src/attention/policy-cache.js';
import { createPolicy } from '../../src/attention/registry.js';
import { checkScbenchFinding } from '../../src/bench/scbench/harness-finding.js';
import { RecordingKVCache, loggedLength, replayInto } from '../../src/bench/scbench/harness-replay.js';
import { type ScbenchRecord, runScbenchHarness } from '../../src/bench/scbench/harness.js';
import { encodePlan, retrKvTask, scoreAnswer, sharedContextPlan } from '../../src/bench/scbench/index.js';
import { ArgumentError } from '../../src/core/errors.js';
import { DecoderModel } from '../../src/models/llama.js';
import { randomDecoderWeights, tinyDecoderConfig } from '../../src/models/random-weights.js';
import { cpuBackend } from '../helpers/cpu.js';

await cpuBackend();

const config = tinyDecoderConfig({ vocabSize: 256, maxPositions: 512 });
const model = new DecoderModel(config, randomDecoderWeights(config, 3));
const encode = (text: string) => [...text].map((c) => c.charCodeAt(0));
const decode = (ids: readonly number[]) => String.fromCharCode(...ids);
const TASK_OPTIONS = { 'retr.kv': { style: 'compact', keyLength: 2, valueLength: 3, alphabet: 'abcdefghij' } };
const CONTEXT = 120;
const TURNS = 3;

describe('scbench harness', () => {
  const { records, traces } = runScbenchHarness({
    model,
    encode,
    decode,
    tasks: ['retr.kv'],
    taskOptions: TASK_OPTIONS,
    policies: [
      { policy: 'full', budget: null },
      { policy: 'streaming-llm', budget: 32 },
    ],
    contextLength: CONTEXT,
    samples: 2,
    turns: TURNS,
    maxNewTokens: 6,
    attentionRepeats: 1,
  });
  const sample = (s: number) => retrKvTask({ ...TASK_OPTIONS['retr.kv'], style: 'compact', seed: s, contextLength: CONTEXT, turns: TURNS });

  it('runs both modes with both policies, one record per turn, scores in [0, 1]', () => {
    assert.equal(records.length, 2 * 2 * TURNS);
    for (const mode of ['multi-turn', 'multi-request']) {
      for (const policy of ['full', 'streaming-llm']) {
        const turns = records.filter((r) => r.mode === mode && r.policy === policy).map((r) => r.turn);
        assert.deepEqual(turns, [0, 1, 2], `${mode} ${policy}`);
      }
    }
    for (const r of records) {
      assert.ok(r.accuracy >= 0 && r.accuracy <= 1, `accuracy ${r.accuracy}`);
      assert.equal(r.samples, 2);
      assert.equal(r.context, CONTEXT);
      assert.ok(r.bytesReadPerStep > 0 && r.attentionFlopsPerStep > 0 && r.prefillMs > 0);
      assert.ok(r.speedupVsFull !== null && r.speedupVsFull > 0);
    }
    for (const t of traces) assert.equal(t.score, scoreAnswer(t.prediction, [sample(t.sample).turns[t.turn].answer], 'substring'));
  });

  it('StreamingLLM keeps and reads fewer bytes than the full cache', () => {
    for (const r of records.filter((x) => x.policy === 'streaming-llm')) {
      const full = records.find((x) => x.policy === 'full' && x.mode === r.mode && x.turn === r.turn);
      assert.ok(full);
      assert.ok(r.kvBytes < full.kvBytes, `${r.mode} turn ${r.turn}: ${r.kvBytes} >= ${full.kvBytes}`);
      assert.ok(r.bytesReadPerStep < full.bytesReadPerStep);
      assert.equal(r.kvBytesFull, full.kvBytesFull);
      assert.equal(full.kvBytes, full.kvBytesFull);
    }
  });

  it('multi-turn appends exactly the plan tokens to the shared cache, turn after turn', () => {
    for (const policy of ['full', 'streaming-llm']) {
      for (const s of [0, 1]) {
        const plan = encodePlan(sharedContextPlan(sample(s), 'multi-turn'), encode);
        const steps = traces.filter((t) => t.mode === 'multi-turn' && t.policy === policy && t.sample === s);
        assert.equal(steps.length, TURNS);
        let expected = plan.prefill.length;
        steps.forEach((t, turn) => {
          expected += plan.steps[turn].appendKept.length;
          assert.equal(t.appendedKept, plan.steps[turn].appendKept.length);
          assert.equal(t.sharedLength, expected, `${policy} sample ${s} turn ${turn}`);
          assert.equal(t.forkLength, expected);
          assert.equal(t.appendedTemporary, 0);
        });
        assert.ok(plan.steps[1].appendKept.length > 0);
      }
    }
  });

  it('multi-request leaves the shared prefill unchanged between questions', () => {
    for (const policy of ['full', 'streaming-llm']) {
      for (const s of [0, 1]) {
        const plan = encodePlan(sharedContextPlan(sample(s), 'multi-request'), encode);
        const steps = traces.filter((t) => t.mode === 'multi-request' && t.policy === policy && t.sample === s);
        assert.equal(steps.length, TURNS);
        steps.forEach((t, turn) => {
          assert.equal(t.sharedLength, plan.prefill.length);
          assert.equal(t.sharedKvBytes, steps[0].sharedKvBytes);
          assert.equal(t.appendedKept, 0);
          assert.equal(t.forkLength, plan.prefill.length + plan.steps[turn].appendTemporary.length);
        });
      }
    }
    // StreamingLLM compressed the shared prefill to its budget (sinks + window) before any question.
    const blind = traces.find((t) => t.mode === 'multi-request' && t.policy === 'streaming-llm');
    const full = traces.find((t) => t.mode === 'multi-request' && t.policy === 'full' && t.sample === blind?.sample);
    assert.ok(blind && full && blind.sharedKvBytes < full.sharedKvBytes);
  });

  it('refuses an unknown policy and a bad sample count before any model work', () => {
    const base = { model, encode, decode, tasks: ['retr.kv'], taskOptions: TASK_OPTIONS, contextLength: CONTEXT, samples: 1 };
    assert.throws(() => runScbenchHarness({ ...base, policies: [{ policy: 'nope', budget: null }] }), /unknown KV-cache policy 'nope'; known: full/);
    assert.throws(() => runScbenchHarness({ ...base, samples: 0, policies: [{ policy: 'full', budget: null }] }), ArgumentError);
  });
});

describe('scbench harness replay (forks)', () => {
  it('a replayed fork holds the same positions and gives the same next logits as the cache it copies', () => {
    const policy = createPolicy('streaming-llm', { budget: 24 });
    const shape = { layers: config.numLayers, kvHeads: [config.numKvHeads, config.numKvHeads], headDim: config.headDim, capacity: 96 };
    const original = new RecordingKVCache(new PolicyKVCache(shape, policy));
    const prompt = encode('ab:xyz\ncd:uvw\nef:rst\ngh:opq\nij:lmn\n?cd:');
    model.forward([{ tokens: prompt, cache: original }]).dispose();
    model.forward([{ tokens: encode('uvw\n?ef:'), cache: original }]).dispose();
    const fork = new PolicyKVCache(shape, policy);
    replayInto(original.log, fork, model.backend);
    assert.equal(fork.length, original.length);
    assert.equal(loggedLength(original.log), original.length);
    assert.deepEqual(fork.report(), (original.inner as PolicyKVCache).report());
    const next = encode('r');
    const a = model.forward([{ tokens: next, cache: original }]);
    const b = model.forward([{ tokens: next, cache: fork }]);
    assert.deepEqual(Array.from(b.readSync() as Float32Array), Array.from(a.readSync() as Float32Array));
    assert.deepEqual(fork.lastSelection(0), (original.inner as PolicyKVCache).lastSelection(0));
    assert.ok(fork.lastSelection(0) !== null, 'the budget should have evicted positions');
    for (const t of [a, b]) t.dispose();
    original.dispose();
    fork.dispose();
  });

  it('a recording fork copies the cache and continues its log', () => {
    const policy = createPolicy('streaming-llm', { budget: 24 });
    const shape = { layers: config.numLayers, kvHeads: [config.numKvHeads, config.numKvHeads], headDim: config.headDim, capacity: 96 };
    const original = new RecordingKVCache(new PolicyKVCache(shape, policy));
    model.forward([{ tokens: encode('ab:xyz\ncd:uvw\nef:rst\ngh:opq\nij:lmn\n?cd:'), cache: original }]).dispose();
    const fork = original.fork();
    assert.equal(fork.log.length, 1);
    const replayed = new PolicyKVCache(shape, policy);
    const next = encode('uvw\n?ef:');
    for (const cache of [fork, original]) model.forward([{ tokens: next, cache }]).dispose();
    assert.equal(fork.log.length, 2);
    replayInto(fork.log, replayed, model.backend);
    assert.deepEqual((fork.inner as PolicyKVCache).report(), replayed.report());
    const a = model.forward([{ tokens: encode('r'), cache: fork }]);
    const b = model.forward([{ tokens: encode('r'), cache: replayed }]);
    assert.deepEqual(Array.from(a.readSync() as Float32Array), Array.from(b.readSync() as Float32Array));
    assert.equal(original.log.length, 2, "the fork's step went to the fork's log only");
    for (const t of [a, b]) t.dispose();
    for (const cache of [original, fork, replayed]) cache.dispose();
  });
});

describe('scbench finding bars', () => {
  const record = (policy: string, mode: 'multi-turn' | 'multi-request', turn: number, accuracy: number, label = policy): ScbenchRecord => ({
    task: 'retr.kv', mode, policy, label, budget: policy === 'full' ? null : '1/8', queryAware: policy === 'quest', context: 4096, contextTokens: 4096, turn, samples: 4, accuracy,
    kvBytes: 1, kvBytesFull: 1, bytesReadPerStep: 1, attentionFlopsPerStep: 1, prefillMs: 1, decodeMsPerToken: 1, decodeAttentionMs: null, speedupVsFull: null, fellBackToFull: 0,
  });
  it('passes a falling blind policy and a query-aware one near full; fails the opposite', () => {
    const records = [0, 1, 2].flatMap((t) => [
      record('full', 'multi-request', t, 1),
      record('snapkv', 'multi-request', t, t === 0 ? 1 : 0.25),
      record('quest', 'multi-request', t, 0.95),
      record('token-select', 'multi-request', t, 0.5),
    ]);
    const bars = checkScbenchFinding(records);
    assert.equal(bars.length, 3);
    const snap = bars.find((b) => b.bar.includes('snapkv'));
    assert.ok(snap && snap.pass && Math.abs(snap.value - 0.75) < 1e-12);
    assert.equal(bars.find((b) => b.bar.includes('quest'))?.pass, true);
    const ts = bars.find((b) => b.bar.includes('token-select'));
    assert.ok(ts && !ts.pass && Math.abs(ts.value + 0.5) < 1e-12);
  });

  it('judges cases of one policy and budget that differ in options each under its label', () => {
    const records = [0, 1, 2].flatMap((t) => [
      record('full', 'multi-turn', t, 1),
      record('quest', 'multi-turn', t, 0.25),
      record('quest', 'multi-turn', t, 1, 'quest (page 4)'),
    ]);
    const bars = checkScbenchFinding(records);
    assert.equal(bars.length, 2);
    const page16 = bars.find((b) => b.bar.includes('quest (query-aware)'));
    const page4 = bars.find((b) => b.bar.includes('quest (page 4) (query-aware)'));
    assert.ok(page16 && !page16.pass && Math.abs(page16.value + 0.75) < 1e-12, JSON.stringify(bars));
    assert.ok(page4 && page4.pass && page4.value === 0, JSON.stringify(bars));
  });
});
