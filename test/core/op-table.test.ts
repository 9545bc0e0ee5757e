import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { erf, UNARY_OPS } from '../../src/core/op-table.js';

// Values from SciPy / PyTorch (float64).
const ERF = [
  [0, 0],
  [0.1, 0.1124629160182849],
  [0.46875, 0.49261347321793797],
  [1, 0.8427007929497149],
  [-2.5, -0.999593047982555],
  [4.2, 0.9999999971445058],
  [7, 1],
];

describe('op table', () => {
  it('erf matches reference values to 1e-14', () => {
    for (const [x, want] of ERF) assert.ok(Math.abs(erf(x) - want) <= 1e-14, `erf(${x}) = ${erf(x)}, want ${want}`);
  });

  it('activations match PyTorch values', () => {
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12;
    assert.ok(close(UNARY_OPS.gelu.reference(1), 0.8413447460685429)); // torch.nn.functional.gelu
    assert.ok(close(UNARY_OPS.gelu_tanh.reference(1), 0.8411919906082768)); // approximate='tanh'
    assert.ok(close(UNARY_OPS.silu.reference(1), 0.7310585786300049));
    assert.ok(close(UNARY_OPS.gelu.reference(-3), -0.004049694094890287));
  });

  it('derivative entries equal central differences of the functions they differentiate', () => {
    const pairs = [
      ['step', 'relu'],
      ['silu_grad', 'silu'],
      ['gelu_grad', 'gelu'],
      ['gelu_tanh_grad', 'gelu_tanh'],
    ] as const;
    const h = 1e-5;
    for (const [grad, f] of pairs) {
      for (const x of [-6, -2.5, -1, -0.3, 0.2, 0.7, 1.5, 3, 8]) {
        const numeric = (UNARY_OPS[f].reference(x + h) - UNARY_OPS[f].reference(x - h)) / (2 * h);
        const got = UNARY_OPS[grad].reference(x);
        assert.ok(Math.abs(got - numeric) <= 1e-7 * Math.max(1, Math.abs(numeric)), `${grad}(${x}) = ${got}, central difference of ${f}: ${numeric}`);
      }
    }
  });
});
