import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetFraction, budgetTokens, parseBudget, resolveBudget } from '../../src/attention/budget.js';
import { createPolicy, POLICY_NAMES } from '../../src/attention/registry.js';
import { SparsekitError } from '../../src/core/errors.js';
import { pyramidBudgets } from '../../src/attention/pyramidkv.js';

describe('KV budgets', () => {
  it('parses tokens, fractions, ratios and percentages with their units', () => {
    assert.deepEqual(parseBudget('1024'), { unit: 'tokens', tokens: 1024 });
    assert.deepEqual(parseBudget('1/16'), { unit: 'fraction', fraction: 1 / 16 });
    assert.deepEqual(parseBudget('6.25%'), { unit: 'fraction', fraction: 0.0625 });
    assert.deepEqual(parseBudget(0.25), { unit: 'fraction', fraction: 0.25 });
  });

  it('resolves a fraction against the context and falls back to full when the budget covers it', () => {
    assert.deepEqual(resolveBudget(budgetFraction(1 / 16), 32768), { budgetTokens: 2048, fellBackToFull: false });
    assert.deepEqual(resolveBudget(budgetTokens(4096), 1000), { budgetTokens: 4096, fellBackToFull: true });
    assert.equal(resolveBudget(budgetTokens(1000), 1000).fellBackToFull, true);
    assert.equal(resolveBudget(budgetTokens(999), 1000).fellBackToFull, false);
  });

  it('rejects a budget of 0 in every form, and nonsense', () => {
    for (const bad of ['0', 0, '0%', '0/5']) assert.throws(() => parseBudget(bad), /keeps nothing/);
    assert.throws(() => budgetTokens(-3), /non-negative integer/);
    assert.throws(() => parseBudget('lots'), /expected tokens/);
    assert.throws(() => createPolicy('quest', { budget: 0 }), (e: unknown) => e instanceof SparsekitError && e.code === 'E_ARGUMENT');
  });
});

describe('policy registry', () => {
  it('lists the known policies when a name is unknown', () => {
    assert.throws(() => createPolicy('snapkvv', { budget: 64 }), (e: unknown) => {
      assert.ok(e instanceof Error);
      for (const name of ['full', 'streaming-llm', 'h2o', 'snapkv', 'pyramidkv', 'quest', 'token-select', 'double-sparsity', 'duo-attention', 'lserve', 'zipvl']) {
        assert.match(e.message, new RegExp(name));
      }
      return /unknown KV-cache policy 'snapkvv'/.test(e.message);
    });
    assert.equal(POLICY_NAMES.length, 11);
  });

  it('makes each policy with its name, paper and query-awareness', () => {
    const quest = createPolicy('quest', { budget: '1/16' });
    assert.equal(quest.name, 'quest');
    assert.match(quest.paper, /Tang et al\. 2024/);
    assert.equal(quest.queryAware, true);
    assert.deepEqual(quest.budget, { unit: 'fraction', fraction: 1 / 16 });
    const snap = createPolicy('snapkv', { budget: 256 });
    assert.equal(snap.queryAware, false);
    assert.match(snap.paper, /Li et al\. 2024/);
  });

  it('says clearly when a policy needs calibration or a budget it was not given', () => {
    assert.throws(() => createPolicy('double-sparsity', { budget: 64 }), /needs an offline channel calibration: run calibrateDoubleSparsity/);
    assert.throws(() => createPolicy('duo-attention'), /needs its heads classified offline: run classifyHeads/);
    assert.throws(() => createPolicy('lserve', { budget: 64 }), /needs its heads classified offline/);
    assert.throws(() => createPolicy('quest'), /quest needs a KV budget/);
  });

  it('rejects budgets that leave a policy nothing to select', () => {
    assert.throws(() => createPolicy('snapkv', { budget: 32, window: 32 }), /must exceed the observation window/);
    assert.throws(() => createPolicy('streaming-llm', { budget: 4, sinks: 4 }), /leaves no recent window/);
    assert.throws(() => createPolicy('token-select', { budget: 600 }), /leaves no top-k after 128 sinks and 512 recent/);
  });
});

describe('budgets per layer and KV head', () => {
  const shape = { layers: 4, kvHeads: [2, 2, 2, 2], headDim: 8, capacity: 4096 };

  it('uniform policies give every head the same tokens, capped at the context', () => {
    assert.deepEqual(createPolicy('token-select', { budget: '1/16', sinks: 4, recent: 8 }).budgetsAt(shape, 2048), [[128, 128], [128, 128], [128, 128], [128, 128]]);
    assert.deepEqual(createPolicy('h2o', { budget: 4096 }).budgetsAt(shape, 1000)[0], [1000, 1000]);
  });

  it('PyramidKV resolves per layer on its linear schedule; Quest keeps its dense layers whole', () => {
    const pyramid = createPolicy('pyramidkv', { budget: 64, window: 8 }).budgetsAt(shape, 2048);
    assert.deepEqual(pyramid.map((heads) => heads[0]), pyramidBudgets(64, 4, 8, 2048));
    assert.equal(pyramid.flat().reduce((a, b) => a + b, 0), 4 * 2 * 64);
    assert.deepEqual(createPolicy('quest', { budget: 100 }).budgetsAt(shape, 2048).map((h) => h[0]), [2048, 2048, 96, 96]);
  });

  it('streaming and retrieval heads get their own budgets', () => {
    const heads = { retrieval: [[true, false], [false, false], [false, true], [false, false]], distantMass: [[1, 0], [0, 0], [0, 1], [0, 0]] };
    const duo = createPolicy('duo-attention', { heads, sinks: 4, window: 60 }).budgetsAt(shape, 2048);
    assert.deepEqual(duo[0], [2048, 64]);
    assert.deepEqual(duo[2], [64, 2048]);
    const lserve = createPolicy('lserve', { budget: 256, heads, sinks: 4, window: 60 }).budgetsAt(shape, 2048);
    assert.deepEqual(lserve[0], [256, 64]);
  });
});
