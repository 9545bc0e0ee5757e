import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetTokens } from '../../src/attention/budget.js';
import { PyramidKvPolicy, pyramidBudgets } from '../../src/attention/pyramidkv.js';
import { avgPool1d, maxPool1d } from '../../src/attention/select.js';
import { SnapKvPolicy, type SnapKvState } from '../../src/attention/snapkv.js';
import { decode, lists, makeKeys, prefill, shapeOf, span } from './helpers.js';

const d = 4;
const aligned = (c: number) => (c === 0 ? 1 : 0);

describe('SnapKV', () => {
  it('keeps the positions the last-window queries attend to, plus the window', () => {
    const hot = new Set([5, 12, 20, 30]);
    const keys = makeKeys(40, 1, d, (p, _g, c) => (hot.has(p) ? 8 * aligned(c) : 0));
    const queries = makeKeys(40, 1, d, (_p, _g, c) => aligned(c));
    const state = new SnapKvPolicy({ budget: budgetTokens(8), window: 4, kernel: 1 }).createState(shapeOf(1, d, 64));
    prefill(state, keys, queries, 40, 1, 1, d);
    assert.deepEqual(lists({ positions: state.kept(0) }), [[5, 12, 20, 30, 36, 37, 38, 39]]);
  });

  it('pools votes with kernel 5 so a hit keeps its neighbours; ties go to earlier positions', () => {
    const keys = makeKeys(40, 1, d, (p, _g, c) => (p === 10 ? 8 * aligned(c) : 0));
    const queries = makeKeys(40, 1, d, (_p, _g, c) => aligned(c));
    const pooled = new SnapKvPolicy({ budget: budgetTokens(9), window: 4 }).createState(shapeOf(1, d, 64));
    prefill(pooled, keys, queries, 40, 1, 1, d);
    assert.deepEqual(lists({ positions: pooled.kept(0) }), [[8, 9, 10, 11, 12, 36, 37, 38, 39]]);
    const unpooled = new SnapKvPolicy({ budget: budgetTokens(9), window: 4, kernel: 1 }).createState(shapeOf(1, d, 64));
    prefill(unpooled, keys, queries, 40, 1, 1, d);
    // Every other position scores the same: the earliest four win.
    assert.deepEqual(lists({ positions: unpooled.kept(0) }), [[0, 1, 2, 3, 10, 36, 37, 38, 39]]);
  });

  it('selects per KV head (grouped heads vote for their own KV head)', () => {
    // KV head 0 has its hit at 5, KV head 1 at 25.
    const keys = makeKeys(40, 2, d, (p, g, c) => ((g === 0 && p === 5) || (g === 1 && p === 25) ? 8 * aligned(c) : 0));
    const queries = makeKeys(40, 4, d, (_p, _h, c) => aligned(c));
    const state = new SnapKvPolicy({ budget: budgetTokens(5), window: 4, kernel: 1 }).createState(shapeOf(2, d, 64));
    prefill(state, keys, queries, 40, 4, 2, d);
    assert.deepEqual(lists({ positions: state.kept(0) }, 2), [
      [5, 36, 37, 38, 39],
      [25, 36, 37, 38, 39],
    ]);
    // Decode appends without evicting.
    assert.deepEqual(lists(decode(state, keys, queries.subarray(0, 4 * d), 40, 4, 2, d), 2), [
      [5, 36, 37, 38, 39, 40],
      [25, 36, 37, 38, 39, 40],
    ]);
  });

  it('does nothing when the prompt fits the budget', () => {
    const keys = makeKeys(20, 1, d, () => 0);
    const state = new SnapKvPolicy({ budget: budgetTokens(64), window: 4 }).createState(shapeOf(1, d, 64));
    prefill(state, keys, makeKeys(20, 1, d, () => 1), 20, 1, 1, d);
    assert.equal(state.kept(0), null);
    const step = decode(state, makeKeys(21, 1, d, () => 0), null, 20, 1, 1, d);
    assert.equal(step.positions, null);
    assert.equal(step.fellBackToFull, true);
  });

  it('pools as torch avg_pool1d (zero padding counted) and max_pool1d', () => {
    assert.deepEqual([...avgPool1d([1, 2, 3, 4, 5], 5)], [6 / 5, 10 / 5, 15 / 5, 14 / 5, 12 / 5]);
    assert.deepEqual([...maxPool1d([1, 5, 2, 0, 0, 3], 3)], [5, 5, 5, 2, 3, 3]);
  });
});

describe('PyramidKV', () => {
  it('shrinks budgets linearly from the lowest layer and sums to layers x budget', () => {
    const b = pyramidBudgets(64, 8, 8, 4096);
    assert.equal(b.reduce((x, y) => x + y, 0), 8 * 64);
    // Authors' ends: top = window + (64 - 8) / 20, bottom = window + 2 * 56 - 56 / 20.
    assert.ok(Math.abs(b[7] - (8 + 56 / 20)) <= 1 && Math.abs(b[0] - (8 + 112 - 56 / 20)) <= 1);
    const step = (b[0] - b[7]) / 7;
    for (let l = 1; l < 8; l++) {
      assert.ok(b[l] < b[l - 1]);
      assert.ok(Math.abs(b[0] - b[l] - l * step) <= 1, `layer ${l}: ${b}`);
    }
  });

  it('caps the bottom layer at the prompt and keeps the mean', () => {
    const b = pyramidBudgets(64, 4, 8, 100);
    assert.equal(b[0], 100);
    assert.equal(b.reduce((x, y) => x + y, 0), 4 * 64);
  });

  it('compresses each layer to its schedule', () => {
    const layers = 4;
    const keys = makeKeys(100, 1, d, (p, _g, c) => ((p * 7) % 13 === 0 ? 3 * aligned(c) : 0.1 * c));
    const queries = makeKeys(100, 1, d, (_p, _g, c) => aligned(c));
    const state = new PyramidKvPolicy({ budget: budgetTokens(24), window: 4 }).createState(shapeOf(1, d, 128, layers)) as SnapKvState;
    for (let l = 0; l < layers; l++) prefill(state, keys, queries, 100, 1, 1, d, l);
    const expected = pyramidBudgets(24, layers, 4, 100);
    assert.deepEqual(state.budgetTokensByLayer, expected);
    for (let l = 0; l < layers; l++) assert.equal(state.kept(l)![0].length, expected[l]);
    assert.deepEqual([...state.kept(3)![0].slice(-4)], span(96, 100));
  });
});
