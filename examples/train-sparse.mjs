// Sparse training through the library API: a small byte-level Llama trained from scratch with
// RigL at 80% sparsity on the tinyshakespeare excerpts that ship in assets/, held-out loss
// before and after, then the checkpoint-free way to run it: the same parameters as inference
// weights. Run from the repository root: node examples/train-sparse.mjs [STEPS]
import { readFile } from 'node:fs/promises';
import {
  AdamW, byteLevelDecode, byteLevelEncode, createSparseTrainingMethod, decoderWeightsOf, DecoderModel, generate, initCpu, initDecoderParameters,
  LanguageModelTask, llamaConfigJson, parseDecoderConfig, SparsityController, train, warmupCosine,
} from 'sparsekit';

const steps = Number(process.argv[2] ?? 60);
await initCpu();
const trainIds = byteLevelEncode(await readFile('assets/text/tinyshakespeare-train-excerpt.txt', 'utf8'));
const heldOut = byteLevelEncode(await readFile('assets/text/tinyshakespeare-heldout-excerpt.txt', 'utf8'));
const config = parseDecoderConfig(llamaConfigJson({ hiddenSize: 64, intermediateSize: 192, heads: 4, kvHeads: 2, layers: 2, vocabSize: 256, maxPositions: 64 }), 'example');

const params = initDecoderParameters(config, 1);
const task = new LanguageModelTask({ config, params, train: trainIds, heldOut, batchSize: 8, seqLen: 64, seed: 1, evalWindows: 32 });
const optimizer = new AdamW([...params.values()], { learningRate: 5e-3, betas: [0.9, 0.95] });
const rigl = createSparseTrainingMethod({ method: 'rigl', sparsity: 0.8, distribution: 'erk', interval: 10 }, steps);
const controller = new SparsityController(task.sparseLayers, rigl, optimizer);

controller.start();
console.log(`held-out loss before: ${(await task.evaluate()).value.toFixed(3)} nats/byte`);
const result = await train({
  task, optimizer, steps, clipNorm: 1,
  schedule: warmupCosine({ peak: 5e-3, warmupSteps: 5, totalSteps: steps }),
  controller, // already started (masks drawn before the first evaluation); train() leaves it so
});
const last = result.evaluations.at(-1);
console.log(`held-out loss after ${steps} steps: ${last.value.toFixed(3)} nats/byte; sparsity ${(100 * controller.sparsity()).toFixed(1)}%; ${Math.round(result.itemsPerS)} tokens/s`);

// The trained parameters are the inference model's weights.
const model = new DecoderModel(config, decoderWeightsOf(config, params));
const { tokens } = await generate(model, [[...byteLevelEncode('ROMEO:')]], { maxNewTokens: 40 });
console.log(`ROMEO:${byteLevelDecode(tokens[0])}`);
