// Times linear() of two builds of sparsekit in one process, in alternating rounds, so that drift
// in a shared machine's speed hits both sides alike: how kernel changes in this repository were
// judged (DEVELOPERS.md). By hand, never in the tests:
//   cp -r dist /tmp/before            # the build to compare against
//   ...change and rebuild (npm run build)...
//   node tools/ab-linear.mjs --a /tmp/before --b dist [--shapes 4096x768,768x2048] [--formats dense,csr50,nm24]
//                            [--batch 1] [--copies 8] [--rounds 16] [--threads 2]
// With --a and --b the same build, it compares formats with each other (e.g. csr60,bitmap60).
// Each side holds `copies` weights per shape and format and cycles through them, so with enough
// copies the weights come from DRAM as in a model's decode step (one copy: re-read from cache).
// Before timing, both sides' outputs are compared; a difference is printed (it may be rounding,
// from a changed summation order, or a bug).
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: 'dist' },
    shapes: { type: 'string', default: '768x768,4096x768,768x2048,4096x4096' },
    formats: { type: 'string', default: 'dense,csr50,csr90,nm24,nm48' },
    batch: { type: 'string', default: '1' },
    copies: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
  },
});
if (!flags.a) throw new Error('ab-linear: --a DIR (a dist/ folder of the build to compare against) is required');

// Weight builders by name: dense, csrNN and bitmapNN (NN% of zeros, random positions), nmNM (n:m by magnitude).
function builderOf(name) {
  if (name === 'dense') return (L, a, r, c, be) => L.ops.tensor(a, [r, c], 'f32', be);
  const csr = /^csr(\d+)$/.exec(name);
  if (csr) {
    const zeros = Number(csr[1]) / 100;
    return (L, a, r, c, be, rng) => L.csr.CsrMatrix.fromDense(a.map((v) => (rng() < zeros ? 0 : v)), r, c, be);
  }
  const bitmap = /^bitmap(\d+)$/.exec(name);
  if (bitmap) {
    const zeros = Number(bitmap[1]) / 100;
    return (L, a, r, c, be, rng) => L.bitmap.BitmapMatrix.fromDense(a.map((v) => (rng() < zeros ? 0 : v)), r, c, be);
  }
  const nm = /^nm(\d)(\d+)$/.exec(name);
  if (nm) return (L, a, r, c, be) => L.nm.NmMatrix.fromDenseByMagnitude(a, r, c, Number(nm[1]), Number(nm[2]), be);
  throw new Error(`ab-linear: unknown format ${name} (dense, csrNN, bitmapNN, nmNM)`);
}

function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const load = async (dir) => {
  const root = pathToFileURL(resolve(dir)).href;
  return {
    cpu: await import(`${root}/src/backends/cpu/node/index.js`),
    ops: await import(`${root}/src/core/ops.js`),
    csr: await import(`${root}/src/sparse/csr.js`),
    bitmap: await import(`${root}/src/sparse/bitmap.js`),
    nm: await import(`${root}/src/sparse/nm.js`),
    linear: (await import(`${root}/src/sparse/linear.js`)).linear,
  };
};

const shapes = flags.shapes.split(',').map((s) => s.split('x').map(Number));
const formats = flags.formats.split(',');
const M = Number(flags.batch);
const copies = Number(flags.copies);
const rounds = Number(flags.rounds);

async function side(dir) {
  const L = await load(dir);
  const backend = await L.cpu.createCpuBackend({ threads: Number(flags.threads) });
  // The same seeds on both sides: the same weights and inputs.
  const cases = shapes.map(([rows, cols], s) => {
    const rng = lcg(1000 + s);
    const x = L.ops.tensor(Float32Array.from({ length: M * cols }, () => rng() - 0.5), [M, cols], 'f32', backend);
    const dense = Array.from({ length: copies }, () => Float32Array.from({ length: rows * cols }, () => rng() - 0.5));
    const weights = Object.fromEntries(formats.map((f) => [f, dense.map((a) => builderOf(f)(L, a, rows, cols, backend, rng))]));
    return { rows, cols, x, weights };
  });
  return { backend, linear: L.linear, cases };
}

const sides = { a: await side(flags.a), b: await side(flags.b) };
for (const [i, c] of sides.a.cases.entries()) {
  for (const f of formats) {
    const ya = await sides.a.linear(c.x, c.weights[f][0]).read();
    const yb = await sides.b.linear(sides.b.cases[i].x, sides.b.cases[i].weights[f][0]).read();
    let worst = 0;
    for (let k = 0; k < ya.length; k++) worst = Math.max(worst, Math.abs(ya[k] - yb[k]) / (1e-6 + Math.abs(ya[k])));
    if (worst > 0) console.log(`outputs differ: ${c.rows}x${c.cols} ${f}, max relative difference ${worst.toExponential(2)}`);
  }
}

const times = new Map();
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
    const { linear, cases } = sides[name];
    for (const c of cases) {
      for (const f of formats) {
        // Past the thread pool's 5 ms of polling, so the other side's idle workers sleep instead of
        // taking a core from this side; then two untimed calls wake this side's workers.
        await sleep(8);
        for (let i = 0; i < 2; i++) linear(c.x, c.weights[f][i % copies]).dispose();
        const start = performance.now();
        for (const w of c.weights[f]) linear(c.x, w).dispose();
        const us = ((performance.now() - start) / copies) * 1000;
        if (round < 2) continue; // warm-up
        const key = `${c.rows}x${c.cols} ${f} ${name}`;
        times.set(key, [...(times.get(key) ?? []), us]);
      }
    }
  }
}
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
console.log(`batch ${M}, ${copies} copies, ${rounds - 2} timed rounds; medians in us; a = ${flags.a}, b = ${flags.b}`);
for (const [rows, cols] of shapes) {
  for (const f of formats) {
    const t = (name, format = f) => median(times.get(`${rows}x${cols} ${format} ${name}`));
    const line = [`${rows}x${cols}`.padEnd(11), f.padEnd(6), `a ${t('a').toFixed(1).padStart(8)}`, `b ${t('b').toFixed(1).padStart(8)}`, `b faster ${(t('a') / t('b')).toFixed(2)}x`];
    if (formats.includes('dense')) line.push(`vs dense: a ${(t('a', 'dense') / t('a')).toFixed(2)}x, b ${(t('b', 'dense') / t('b')).toFixed(2)}x`);
    console.log(line.join('  '));
  }
}
for (const s of Object.values(sides)) s.backend.dispose();
