// The library API end to end: load the trained tinyshakespeare model that ships in assets/,
// prune it to 2:4 with SparseGPT on calibration text, compare held-out perplexity, save the
// sparse model folder. Run from the repository root: node examples/prune.mjs [OUT_DIR]
import { readFile } from 'node:fs/promises';
import { applyPruneSteps, DecoderModel, initCpu, loadModelFolder, namedWeights, perplexity, PruneStepSchema, sampleCalibration, saveModelFolder } from 'sparsekit';

const out = process.argv[2] ?? 'pruned-2of4';
await initCpu(); // all cores, WebAssembly SIMD
const dir = 'assets/models/tinyshakespeare-llama';
const { config, weights, tokenizer } = await loadModelFolder(dir);
const dense = new DecoderModel(config, weights);

const calibText = await readFile('assets/text/tinyshakespeare-train-excerpt.txt', 'utf8');
const calibration = sampleCalibration(tokenizer.encode(calibText), { sequences: 64, length: 128, seed: 0 });
const step = PruneStepSchema.parse({ method: 'sparsegpt', sparsity: 0.5, pattern: '2:4' });
const { model: pruned, layers } = await applyPruneSteps(dense, calibration, [step]);

const heldOut = tokenizer.encode(await readFile('assets/text/tinyshakespeare-heldout-excerpt.txt', 'utf8'));
for (const [name, model] of [['dense', dense], ['sparsegpt 2:4', pruned]]) {
  const { perplexity: ppl } = await perplexity(model, heldOut, { seqLen: 512, stride: 512 });
  console.log(`${name}: held-out perplexity ${ppl.toFixed(2)}`);
}
console.log(`${layers.length} Linears pruned, e.g. ${layers[0].name}: ${layers[0].format}, sparsity ${layers[0].sparsity}`);

await saveModelFolder(out, {
  config: JSON.parse(await readFile(`${dir}/config.json`, 'utf8')),
  weights: namedWeights(pruned.weights, config.tieWordEmbeddings),
  tokenizerFrom: dir,
  valuesDType: 'F16',
});
console.log(`wrote ${out}`);
