import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/core/random.js';

describe('Random', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
  });

  it('draws uniforms in [0, 1) and normals with mean 0 and variance 1', () => {
    const rng = new Random(1);
    let s = 0;
    let ss = 0;
    const n = 200000;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      assert.ok(u >= 0 && u < 1);
      const z = rng.normal();
      s += z;
      ss += z * z;
    }
    assert.ok(Math.abs(s / n) < 0.01, `mean ${s / n}`);
    assert.ok(Math.abs(ss / n - 1) < 0.02, `variance ${ss / n}`);
  });
});
