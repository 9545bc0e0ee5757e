import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokensCoveringShare, ZipVlPolicy, type ZipVlState } from '../../src/attention/zipvl.js';
import { decode, lists, makeKeys, prefill, shapeOf, span } from './helpers.js';

const d = 4;
const aligned = (c: number) => (c === 0 ? 1 : 0);

describe('ZipVL', () => {
  it('counts the fewest tokens that cover a share of the attention mass', () => {
    const mass = [0.1, 0.5, 0.1, 0.3];
    assert.equal(tokensCoveringShare(mass, [0, 1, 2, 3], 0.8), 2);
    assert.equal(tokensCoveringShare(mass, [0, 1, 2, 3], 0.81), 3);
    assert.equal(tokensCoveringShare(mass, [0, 1, 2, 3], 1), 4);
    assert.equal(tokensCoveringShare(mass, [0, 2], 0.5), 1);
  });

  // Three positions take nearly all of the window's attention.
  const hot = new Set([4, 9, 17]);
  const keys = makeKeys(41, 1, d, (p, _g, c) => (hot.has(p) ? 20 * aligned(c) : 0));
  const queries = makeKeys(40, 1, d, (_p, _g, c) => aligned(c));

  it('keeps per layer the set covering the share (dynamic budget), plus the window', () => {
    const state = new ZipVlPolicy({ attentionShare: 0.9, window: 4 }).createState(shapeOf(1, d, 64)) as ZipVlState;
    prefill(state, keys, queries, 40, 1, 1, d);
    assert.equal(state.importantTokensByLayer[0], 3);
    assert.deepEqual(lists({ positions: state.kept(0) }), [[4, 9, 17, 36, 37, 38, 39]]);
    assert.deepEqual(lists(decode(state, keys, null, 40, 1, 1, d)), [[4, 9, 17, ...span(36, 41)]]);
  });

  it('in int8 mode keeps everything and reports the bytes 8-bit storage of the rest would save', () => {
    const state = new ZipVlPolicy({ attentionShare: 0.9, window: 4, rest: 'int8' }).createState(shapeOf(1, d, 64)) as ZipVlState;
    prefill(state, keys, queries, 40, 1, 1, d);
    assert.equal(state.kept(0), null);
    // 33 positions outside the important 3 and the window of 4; K and V rows of 4 f32 -> 4 bytes + a 4-byte scale.
    assert.equal(state.int8BytesSaved(), 33 * 2 * (4 * 4 - (4 + 4)));
  });
});
