/** Optimizers against float64 transcriptions of PyTorch's update rules, schedules and clipping. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parameter, type Variable } from '../../src/autograd/index.js';
import { tensor } from '../../src/core/ops.js';
import { AdamW, clipGradNorm, Sgd, warmupCosine } from '../../src/nn/optim/index.js';
import { cpuBackend } from '../helpers/cpu.js';

before(async () => {
  await cpuBackend();
});

const P0 = [0.5, -1.25, 2, 0.75];
/** Gradients of steps 1, 2, 3 (fixed, as if from backward). */
const GRADS = [
  [0.1, -0.2, 0.3, 0],
  [-0.4, 0.1, 0.2, 0.05],
  [0.3, 0.3, -0.1, -0.2],
];

function run(make: (params: Variable[]) => { step(): void }): number[] {
  const p = parameter(tensor(Float32Array.from(P0), [4]), 'w');
  const opt = make([p]);
  for (const g of GRADS) {
    p.grad = tensor(Float32Array.from(g), [4]);
    opt.step();
  }
  return Array.from(p.value.readSync() as Float32Array);
}

function assertClose(got: number[], want: number[], what: string): void {
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), `${what}[${i}] = ${v}, want ${want[i]}`));
}

describe('optimizers', () => {
  it('AdamW follows torch.optim.AdamW (decoupled decay, bias correction)', () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.95, 1e-8, 0.1];
    const p = [...P0];
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    GRADS.forEach((g, s) => {
      const t = s + 1;
      for (let i = 0; i < 4; i++) {
        p[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
      }
    });
    assertClose(run((ps) => new AdamW(ps, { learningRate: lr, betas: [b1, b2], eps, weightDecay: wd })), p, 'AdamW');
  });

  it('SGD follows torch.optim.SGD: momentum, dampening, Nesterov, L2 decay', () => {
    for (const { momentum, dampening, nesterov, wd } of [
      { momentum: 0, dampening: 0, nesterov: false, wd: 0 },
      { momentum: 0.9, dampening: 0.1, nesterov: false, wd: 0.01 },
      { momentum: 0.9, dampening: 0, nesterov: true, wd: 0 },
    ]) {
      const lr = 0.1;
      const p = [...P0];
      let buf: number[] | null = null;
      for (const grad of GRADS) {
        const g = grad.map((x, i) => x + wd * p[i]);
        let d = g;
        if (momentum > 0) {
          const prev: number[] | null = buf;
          const next: number[] = prev ? prev.map((b, i) => momentum * b + (1 - dampening) * g[i]) : [...g];
          buf = next;
          d = nesterov ? g.map((x, i) => x + momentum * next[i]) : next;
        }
        for (let i = 0; i < 4; i++) p[i] -= lr * d[i];
      }
      assertClose(run((ps) => new Sgd(ps, { learningRate: lr, momentum, dampening, nesterov, weightDecay: wd })), p, `SGD momentum ${momentum} nesterov ${nesterov}`);
    }
  });

  it('skips parameters without a gradient, saves and restores state', async () => {
    const a = parameter(tensor(Float32Array.from(P0), [4]), 'a');
    const b = parameter(tensor(Float32Array.from(P0), [4]), 'b');
    const opt = new AdamW([a, b], { learningRate: 0.1 });
    a.grad = tensor(Float32Array.from(GRADS[0]), [4]);
    opt.step();
    assert.deepEqual(Array.from(b.value.readSync() as Float32Array), P0.map(Math.fround));
    const state = opt.state();
    assert.deepEqual([...state.keys()].sort(), ['a.exp_avg', 'a.exp_avg_sq', 'step']);
    // A fresh optimizer restored from the state takes the same next step.
    const twin = parameter(tensor(a.value.readSync() as Float32Array, [4]), 'a');
    const restored = new AdamW([twin], { learningRate: 0.1 });
    await restored.loadState(state);
    assert.equal(restored.steps, 1);
    a.grad = tensor(Float32Array.from(GRADS[1]), [4]);
    twin.grad = tensor(Float32Array.from(GRADS[1]), [4]);
    opt.step();
    restored.step();
    assert.deepEqual(Array.from(twin.value.readSync() as Float32Array), Array.from(a.value.readSync() as Float32Array));
  });

  it('rejects bad settings by name', () => {
    const p = [parameter(tensor(new Float32Array(2), [2]))];
    assert.throws(() => new AdamW(p, { learningRate: -1 }), /learning rate must be a finite number >= 0/);
    assert.throws(() => new AdamW(p, { learningRate: 0.1, betas: [1, 0.9] }), /beta1 must be in \[0, 1\)/);
    assert.throws(() => new Sgd(p, { learningRate: 0.1, nesterov: true }), /Nesterov momentum needs momentum > 0/);
  });
});

describe('schedules and clipping', () => {
  it('warmup rises linearly to the peak, then cosine decays to the floor', () => {
    const s = warmupCosine({ peak: 1, warmupSteps: 4, totalSteps: 14, minRatio: 0.1 });
    assert.deepEqual([0, 1, 2, 3].map((t) => s.at(t)), [0.25, 0.5, 0.75, 1]);
    assert.ok(Math.abs(s.at(9) - 0.55) < 1e-12); // halfway: floor + (1 - floor) / 2
    assert.ok(Math.abs(s.at(14) - 0.1) < 1e-12 && Math.abs(s.at(100) - 0.1) < 1e-12);
    assert.throws(() => warmupCosine({ peak: 1, warmupSteps: 5, totalSteps: 5 }), /0 <= warmupSteps < totalSteps/);
  });

  it('clips by global norm only when above the limit', async () => {
    const a = parameter(tensor(new Float32Array(2), [2]));
    const b = parameter(tensor(new Float32Array(1), [1]));
    a.grad = tensor(Float32Array.from([3, 0]), [2]);
    b.grad = tensor(Float32Array.from([4]), [1]);
    assert.equal(await clipGradNorm([a, b], 10), 5);
    assert.deepEqual(Array.from(b.grad.readSync() as Float32Array), [4]);
    assert.equal(await clipGradNorm([a, b], 1), 5);
    const clipped = [...(a.grad.readSync() as Float32Array), ...(b.grad.readSync() as Float32Array)];
    assertClose(clipped, [0.6, 0, 0.8], 'clipped');
  });
});
