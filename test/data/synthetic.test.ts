import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { prototypeImageTask } from '../../src/data/synthetic-images.js';
import { teacherStudentTask, type TeacherMlp } from '../../src/data/synthetic-teacher.js';
import { classCounts, nearestMeanAccuracy } from './helpers.js';

/** The teacher's label computed here in doubles: argmax of w2 relu(w1 x) + b2. */
function referenceLabel(teacher: TeacherMlp, x: Float32Array): number {
  const { inputDim: d, hiddenDim: h, classes: c } = teacher;
  const hidden = Array.from({ length: h }, (_, j) => Math.max(0, x.reduce((s, xk, k) => s + teacher.w1[j * d + k] * xk, 0)));
  const logits = Array.from({ length: c }, (_, i) => teacher.b2[i] + hidden.reduce((s, hj, j) => s + teacher.w2[i * h + j] * hj, 0));
  return logits.indexOf(Math.max(...logits));
}

describe('teacherStudentTask', () => {
  const task = teacherStudentTask({ seed: 0 });

  it('has the documented shapes', () => {
    assert.equal(task.train.inputs.length, 10000 * 32);
    assert.equal(task.train.labels.length, 10000);
    assert.equal(task.test.labels.length, 2000);
    assert.deepEqual(task.train.shape, [32]);
    assert.equal(task.train.classes, 10);
    assert.equal(task.teacher.w1.length, 32 * 32);
    assert.equal(task.teacher.w2.length, 10 * 32);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const again = teacherStudentTask({ seed: 0 });
    assert.deepEqual(again.train.inputs, task.train.inputs);
    assert.deepEqual(again.train.labels, task.train.labels);
    assert.deepEqual(again.test.inputs, task.test.inputs);
    const other = teacherStudentTask({ seed: 1 });
    assert.notDeepEqual(other.train.inputs.subarray(0, 32), task.train.inputs.subarray(0, 32));
    assert.notDeepEqual(other.teacher.w1, task.teacher.w1);
  });

  it('keeps the test split fixed when the training size changes', () => {
    const small = teacherStudentTask({ seed: 4, trainCount: 50, testCount: 30 });
    const large = teacherStudentTask({ seed: 4, trainCount: 80, testCount: 30 });
    assert.deepEqual(small.test.inputs, large.test.inputs);
    assert.deepEqual(small.train.inputs, large.train.inputs.subarray(0, 50 * 32));
  });

  it('draws inputs from N(0, 1) and teacher weights with variance 1 / fan-in', () => {
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const meanSquare = (a: Float32Array) => a.reduce((s, v) => s + v * v, 0) / a.length;
    assert.ok(Math.abs(mean(task.train.inputs)) < 0.01);
    assert.ok(Math.abs(meanSquare(task.train.inputs) - 1) < 0.02);
    assert.ok(Math.abs(meanSquare(task.teacher.w1) * 32 - 1) < 0.15, `w1 variance x D ${meanSquare(task.teacher.w1) * 32}`);
    assert.ok(Math.abs(meanSquare(task.teacher.w2) * 32 - 1) < 0.25, `w2 variance x H ${meanSquare(task.teacher.w2) * 32}`);
  });

  it('labels each input by the argmax of the teacher', () => {
    let agree = 0;
    for (let n = 0; n < 2000; n++) if (referenceLabel(task.teacher, task.test.inputs.subarray(n * 32, (n + 1) * 32)) === task.test.labels[n]) agree++;
    // f32 against f64 rounding may flip an exact near-tie, nothing more.
    assert.ok(agree >= 1998, `${agree} of 2000 agree`);
  });

  it('balances the classes', () => {
    for (const seed of [0, 1, 2]) {
      const counts = classCounts(teacherStudentTask({ seed }).train.labels, 10);
      assert.ok(Math.min(...counts) > 500 && Math.max(...counts) < 2000, `seed ${seed}: ${counts.join(' ')}`);
    }
    const counts = classCounts(teacherStudentTask({ seed: 3, inputDim: 8, hiddenDim: 8, classes: 20, trainCount: 4000 }).train.labels, 20);
    assert.ok(Math.min(...counts) > 0, `every class present: ${counts.join(' ')}`);
  });

  it('has labels a simple classifier learns far above chance', () => {
    const accuracy = nearestMeanAccuracy(task.train, task.test);
    assert.ok(accuracy > 0.4, `nearest class mean: ${accuracy}`);
  });

  it('refuses bad sizes', () => {
    assert.throws(() => teacherStudentTask({ seed: 0, classes: 1 }), ArgumentError);
    assert.throws(() => teacherStudentTask({ seed: 0, inputDim: 0 }), ArgumentError);
    assert.throws(() => teacherStudentTask({ seed: 0, trainCount: 1.5 }), ArgumentError);
  });
});

describe('prototypeImageTask', () => {
  const task = prototypeImageTask({ seed: 0, trainCount: 1000, testCount: 300 });

  it('makes 28x28 images in [0, 1] with exactly balanced classes', () => {
    assert.deepEqual(task.train.shape, [28, 28]);
    assert.equal(task.train.inputs.length, 1000 * 784);
    assert.equal(task.test.inputs.length, 300 * 784);
    assert.ok(task.train.inputs.every((v) => v >= 0 && v <= 1));
    assert.deepEqual(classCounts(task.train.labels, 10), new Array(10).fill(100));
    assert.deepEqual(classCounts(task.test.labels, 10), new Array(10).fill(30));
    assert.notDeepEqual([...task.train.labels.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'labels are shuffled');
  });

  it('is deterministic per seed and differs across seeds', () => {
    const again = prototypeImageTask({ seed: 0, trainCount: 1000, testCount: 300 });
    assert.deepEqual(again.train.inputs, task.train.inputs);
    assert.deepEqual(again.test.labels, task.test.labels);
    assert.notDeepEqual(prototypeImageTask({ seed: 1, trainCount: 10, testCount: 10 }).prototypes, task.prototypes);
  });

  it('draws each image near a prototype of its class', () => {
    const noiseless = prototypeImageTask({ seed: 2, trainCount: 20, testCount: 1, noise: 0, maxShiftPixels: 0, prototypesPerClass: 1 });
    for (let n = 0; n < 20; n++) {
      const label = noiseless.train.labels[n];
      const image = noiseless.train.inputs.subarray(n * 784, (n + 1) * 784);
      const prototype = noiseless.prototypes.subarray(label * 784, (label + 1) * 784);
      // Without noise or shifts an image is its prototype times a contrast in [0.7, 1].
      const contrast = Math.max(...image) / Math.max(...prototype);
      assert.ok(contrast >= 0.7 && contrast <= 1, `contrast ${contrast}`);
      for (let i = 0; i < 784; i++) assert.ok(Math.abs(image[i] - contrast * prototype[i]) < 1e-5);
    }
  });

  it('has labels a simple classifier learns far above chance', () => {
    const accuracy = nearestMeanAccuracy(task.train, task.test);
    assert.ok(accuracy > 0.4, `nearest class mean: ${accuracy}`);
  });

  it('refuses bad settings', () => {
    assert.throws(() => prototypeImageTask({ seed: 0, noise: -1 }), ArgumentError);
    assert.throws(() => prototypeImageTask({ seed: 0, maxShiftPixels: 1.5 }), ArgumentError);
  });
});
