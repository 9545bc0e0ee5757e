import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetTokens } from '../../src/attention/budget.js';
import { calibrateDoubleSparsity, DoubleSparsityPolicy } from '../../src/attention/double-sparsity.js';
import { appendRows, decode, lists, makeKeys, randomArray, shapeOf } from './helpers.js';

const d = 8;

describe('Double Sparsity', () => {
  it('calibration picks the channels where q and k are large together', () => {
    // Channels 2 and 5 carry the logits; channel 0 is large in k alone (no query weight there).
    const tokens = 32;
    const noise = randomArray(tokens * d * 2, 3, 0.1);
    const keys = makeKeys(tokens, 1, d, (t, _g, c) => (c === 2 || c === 5 ? 2 : c === 0 ? 4 : noise[t * d + c]));
    const queries = makeKeys(tokens, 1, d, (t, _h, c) => (c === 2 || c === 5 ? 3 : c === 0 ? 0 : noise[tokens * d + t * d + c]));
    const qk = calibrateDoubleSparsity([{ queries, keys, heads: 1, kvHeads: 1, headDim: d }], 2);
    assert.deepEqual([...qk.channels[0][0]], [2, 5]);
    // The 'k' measure ranks by key magnitude alone and so takes channel 0 first.
    assert.equal(calibrateDoubleSparsity([{ queries, keys, heads: 1, kvHeads: 1, headDim: d }], 1, 'k').channels[0][0][0], 0);
  });

  it('selects tokens from the label cache of the calibrated channels only', () => {
    const calibration = { channels: [[Int32Array.from([2, 5])]] };
    // Position 7 is large in a label channel; positions 3 and 9 are larger in channel 0, which
    // the labels leave out.
    const keys = makeKeys(20, 1, d, (p, _g, c) => (p === 7 && c === 2 ? 9 : (p === 3 || p === 9) && c === 0 ? 20 : 0));
    const policy = new DoubleSparsityPolicy({ budget: budgetTokens(2), calibration });
    const state = policy.createState(shapeOf(1, d, 32));
    appendRows(state, 0, keys, 1, d, 0, 19);
    const q = Float32Array.from([1, 0, 1, 0, 0, 1, 0, 0]);
    const step = decode(state, keys, q, 19, 1, 1, d);
    assert.deepEqual(lists(step), [[7, 19]]);
    // It read 20 tokens x 2 label channels x 4 bytes instead of 20 x 8 x 4 full keys.
    assert.equal(step.metadataBytesRead, 20 * 2 * 4);
    assert.equal(state.metadataBytes(), 20 * 2 * 4);
  });

  it('refuses to run without calibration, or with a calibration of another shape', () => {
    assert.throws(() => new DoubleSparsityPolicy({ budget: budgetTokens(8) }), /needs an offline channel calibration/);
    const policy = new DoubleSparsityPolicy({ budget: budgetTokens(8), calibration: { channels: [[Int32Array.from([1])]] } });
    assert.throws(() => policy.createState(shapeOf(2, d, 32)), /calibration covers 1 layers of \[1\] KV heads, the cache 1 of \[2\]/);
  });
});
