import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArgumentError, ShapeError } from '../../src/core/errors.js';
import { Mask, popcount32 } from '../../src/sparse/mask.js';
import { FC } from './helpers.js';

/** A shape and two bit patterns over it; sizes straddle word boundaries (0, 31, 32, 33 ...). */
const pairArb = fc
  .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 19 }))
  .chain(([rows, cols]) =>
    fc.record({
      shape: fc.constant([rows, cols]),
      a: fc.array(fc.boolean(), { minLength: rows * cols, maxLength: rows * cols }),
      b: fc.array(fc.boolean(), { minLength: rows * cols, maxLength: rows * cols }),
    }),
  );

function naiveCount(bits: readonly boolean[]): number {
  return bits.filter(Boolean).length;
}

describe('Mask', () => {
  it('obeys the Boolean algebra laws (de Morgan, involution, complement, inclusion-exclusion)', () => {
    fc.assert(
      fc.property(pairArb, ({ shape, a, b }) => {
        const A = Mask.fromBooleans(a, shape);
        const B = Mask.fromBooleans(b, shape);
        assert.ok(A.and(B).not().equals(A.not().or(B.not())), 'not(A and B) = not A or not B');
        assert.ok(A.or(B).not().equals(A.not().and(B.not())), 'not(A or B) = not A and not B');
        assert.ok(A.not().not().equals(A), 'not not A = A');
        assert.equal(A.and(A.not()).count(), 0);
        assert.ok(A.or(A.not()).equals(Mask.ones(shape)));
        assert.ok(A.xor(B).equals(A.or(B).and(A.and(B).not())));
        assert.equal(A.and(B).count() + A.or(B).count(), A.count() + B.count());
        assert.ok(A.and(B).equals(B.and(A)) && A.or(B).equals(B.or(A)));
      }),
      FC,
    );
  });

  it('counts set bits by popcount, and density + sparsity = 1', () => {
    fc.assert(
      fc.property(pairArb, ({ shape, a }) => {
        const A = Mask.fromBooleans(a, shape);
        assert.equal(A.count(), naiveCount(a));
        assert.equal(A.not().count(), a.length - naiveCount(a));
        assert.equal(A.size, a.length);
        if (a.length > 0) {
          assert.equal(A.density(), naiveCount(a) / a.length);
          assert.equal(A.density() + A.sparsity(), 1);
        }
        assert.equal(A.bytes(), 4 * Math.ceil(a.length / 32));
        assert.deepEqual([...A.toUint8Array()], a.map((v) => (v ? 1 : 0)));
        for (let i = 0; i < a.length; i++) assert.equal(A.get(i), a[i]);
      }),
      FC,
    );
  });

  it('popcount32 matches a bit-by-bit count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (w) => {
        let want = 0;
        for (let i = 0; i < 32; i++) want += (w >>> i) & 1;
        assert.equal(popcount32(w), want);
      }),
      FC,
    );
    assert.equal(popcount32(0xffffffff), 32);
    assert.equal(popcount32(0x80000000), 1);
  });

  it('apply() zeroes exactly the unset positions and copies the rest', () => {
    fc.assert(
      fc.property(pairArb, fc.integer(), ({ shape, a }, seed) => {
        const A = Mask.fromBooleans(a, shape);
        const values = Float32Array.from(a, (_, i) => ((seed + i * 7919) % 1000) / 10 - 50.5);
        const out = A.apply(values);
        assert.notEqual(out, values);
        for (let i = 0; i < a.length; i++) assert.equal(out[i], a[i] ? values[i] : 0);
      }),
      FC,
    );
  });

  it('fromDense, fromBooleans and fromPredicate agree; nonzero (and NaN) is set, zero and -0 are not', () => {
    const values = new Float32Array([0, 1.5, -0, -2, NaN, 0, 1e-30]);
    const fromDense = Mask.fromDense(values, [7]);
    assert.deepEqual([...fromDense.toUint8Array()], [0, 1, 0, 1, 1, 0, 1]);
    assert.ok(fromDense.equals(Mask.fromBooleans([false, true, false, true, true, false, true], [7])));
    assert.ok(fromDense.equals(Mask.fromPredicate([7], (i) => [1, 3, 4, 6].includes(i))));
    assert.ok(fromDense.equals(Mask.fromBooleans(new Uint8Array([0, 1, 0, 1, 1, 0, 1]), [7])));
  });

  it('zeros and ones, get and set, with the tail bits of the last word kept clear', () => {
    for (const size of [0, 1, 31, 32, 33, 64, 65]) {
      const ones = Mask.ones([size]);
      assert.equal(ones.count(), size);
      assert.equal(Mask.zeros([size]).count(), 0);
      assert.equal(ones.not().count(), 0);
      assert.equal(Mask.zeros([size]).not().count(), size);
    }
    const m = Mask.zeros([3, 11]);
    m.set(0).set(32).set(5);
    assert.equal(m.count(), 3);
    assert.ok(m.get(32) && m.get(0) && !m.get(1));
    m.set(5, false);
    assert.equal(m.count(), 2);
    assert.equal(m.clone().set(1).count(), 3);
    assert.equal(m.count(), 2, 'clone() copies');
    assert.equal(Mask.zeros([0, 5]).density(), 0);
  });

  it('rejects bad shapes, indices and words with clear errors', () => {
    assert.throws(() => Mask.fromDense(new Float32Array(5), [2, 3]), (e: unknown) => e instanceof ShapeError && /5 values .* \[2, 3\]/.test(e.message));
    assert.throws(() => Mask.zeros([2, 2]).and(Mask.zeros([4])), ShapeError);
    assert.throws(() => Mask.zeros([2, 2]).apply(new Float32Array(3)), ShapeError);
    assert.throws(() => Mask.zeros([4]).get(4), ArgumentError);
    assert.throws(() => Mask.zeros([4]).set(-1), ArgumentError);
    assert.throws(() => new Mask([40], new Uint32Array(1)), ShapeError);
    assert.throws(() => new Mask([3], new Uint32Array([0b1000])), (e: unknown) => e instanceof ArgumentError && /past element 2/.test(e.message));
    assert.ok(new Mask([3], new Uint32Array([0b101])).get(2));
    assert.ok(!Mask.zeros([2, 3]).equals(Mask.zeros([3, 2])), 'equal bits, different shapes');
  });
});
