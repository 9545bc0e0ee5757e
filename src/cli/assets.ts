/**
 * Files that ship with sparsekit (assets/): the trained tinyshakespeare model (3.4M parameters,
 * made by tools/train/train_tinyshakespeare.py) and excerpts of its corpus, the built-in default
 * of the demo and of the pruning benchmark; the retrieval model of the SCBench-style benchmark.
 */
import { fileURLToPath } from 'node:url';

const asset = (path: string) => fileURLToPath(new URL(`../../../assets/${path}`, import.meta.url));

export const TINYSHAKESPEARE_MODEL = asset('models/tinyshakespeare-llama');
/** The first 40,000 characters of its training split. */
export const TINYSHAKESPEARE_TRAIN_EXCERPT = asset('text/tinyshakespeare-train-excerpt.txt');
/** The first 20,000 characters of its held-out split. */
export const TINYSHAKESPEARE_HELDOUT_EXCERPT = asset('text/tinyshakespeare-heldout-excerpt.txt');
/**
 * A 3.5M-parameter byte-level Llama trained on compact Retr.KV (tools/fixtures/train_retrieval_model.py;
 * full attention 99-100% up to 4K bytes of context), the default model of `bench scbench`.
 */
export const SCBENCH_RETRIEVAL_MODEL = asset('models/scbench-retrieval');
