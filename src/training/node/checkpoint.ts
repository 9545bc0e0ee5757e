/**
 * Training checkpoints: parameters, optimizer state and sparsity masks in safetensors, plus the
 * step, the data sampler's and the method's random states and the controller's counters in
 * state.json, so that `train --resume` continues exactly where the run stopped (the same
 * batches, the same mask updates). Each checkpoint is written to a temporary folder and renamed
 * to checkpoints/step-NNNNNNN when complete; the newest `keep` are kept. Non-finite parameters are
 * refused, so a checkpoint on disk is always a finite one. Node only.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, SparsekitError } from '../../core/errors.js';
import { copyInto, tensor } from '../../core/ops.js';
import type { Tensor } from '../../core/tensor.js';
import { temporaryPathFor, writeFileAtomic } from '../../io/node/atomic-file.js';
import { openSafetensorsFile, writeSafetensorsFile } from '../../io/node/safetensors-file.js';
import type { SafetensorsTensorInput } from '../../io/safetensors-encode.js';
import type { Variable } from '../../autograd/variable.js';
import type { Optimizer } from '../../nn/optim/optimizer.js';

export const CHECKPOINTS_DIR = 'checkpoints';
const PARAMETERS_FILE = 'parameters.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const MASKS_FILE = 'masks.safetensors';
const STATE_FILE = 'state.json';

export interface CheckpointState {
  /** Optimizer steps taken. */
  readonly step: number;
  readonly dataRandomState: readonly number[];
  readonly methodRandomState: readonly number[] | null;
  readonly controller: { readonly updates: number; readonly weightsMoved: number } | null;
  /** The run's configuration, to refuse resuming with a different one. */
  readonly config: unknown;
}

export interface CheckpointContents {
  readonly parameters: ReadonlyMap<string, Variable>;
  readonly optimizer: Optimizer;
  readonly masks: ReadonlyMap<string, Uint8Array> | null;
  readonly state: CheckpointState;
}

function stepFolderName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/** The folder of the checkpoint after `step` under `runDir`. */
export function checkpointDir(runDir: string, step: number): string {
  return join(runDir, CHECKPOINTS_DIR, stepFolderName(step));
}

async function tensorInput(name: string, t: Tensor): Promise<SafetensorsTensorInput> {
  const data = await t.read();
  if (t.dtype === 'f32') {
    const values = data as Float32Array;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new SparsekitError('E_NONFINITE', `checkpoint: ${name} holds ${values[i]} at element ${i}; refusing to write a non-finite checkpoint`);
    }
    return { name, dtype: 'F32', shape: t.shape, data: values };
  }
  if (t.dtype === 'i32') return { name, dtype: 'I32', shape: t.shape, data: data as Int32Array };
  throw new ArgumentError(`checkpoint: cannot store ${name} of dtype ${t.dtype}`);
}

/** Writes checkpoints/step-N under `runDir`; returns its path. */
export async function saveCheckpoint(runDir: string, contents: CheckpointContents, keep = 2): Promise<string> {
  const root = join(runDir, CHECKPOINTS_DIR);
  await mkdir(root, { recursive: true });
  const final = checkpointDir(runDir, contents.state.step);
  const temporary = temporaryPathFor(final);
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary);
  try {
    const parameters = await Promise.all([...contents.parameters].map(([name, p]) => tensorInput(name, p.value)));
    await writeSafetensorsFile(join(temporary, PARAMETERS_FILE), parameters);
    const optimizerState = await Promise.all([...contents.optimizer.state()].map(([name, t]) => tensorInput(name, t)));
    await writeSafetensorsFile(join(temporary, OPTIMIZER_FILE), optimizerState, { learningRate: String(contents.optimizer.learningRate) });
    if (contents.masks) {
      const masks = [...contents.masks].map(([name, mask]): SafetensorsTensorInput => ({ name, dtype: 'U8', shape: [mask.length], data: mask }));
      await writeSafetensorsFile(join(temporary, MASKS_FILE), masks);
    }
    await writeFileAtomic(join(temporary, STATE_FILE), `${JSON.stringify(contents.state, null, 2)}\n`);
    await rm(final, { recursive: true, force: true });
    await rename(temporary, final);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  const steps = await checkpointSteps(runDir);
  for (const old of steps.slice(0, Math.max(0, steps.length - keep))) await rm(checkpointDir(runDir, old), { recursive: true, force: true });
  return final;
}

/** Steps of the complete checkpoints under `runDir`, ascending. */
export async function checkpointSteps(runDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(join(runDir, CHECKPOINTS_DIR));
  } catch {
    return [];
  }
  return names
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export interface LoadedCheckpoint {
  readonly dir: string;
  readonly state: CheckpointState;
  readonly masks: Map<string, Uint8Array> | null;
}

/**
 * Loads the newest checkpoint under `runDir` into `parameters` (copied into their tensors, shapes
 * checked) and `optimizer`; returns its state and masks for the caller to hand on.
 */
export async function loadLatestCheckpoint(runDir: string, parameters: ReadonlyMap<string, Variable>, optimizer: Optimizer): Promise<LoadedCheckpoint> {
  const steps = await checkpointSteps(runDir);
  if (steps.length === 0) throw new SparsekitError('E_NO_CHECKPOINT', `${runDir} holds no checkpoint (${CHECKPOINTS_DIR}/step-N) to resume from`);
  const dir = checkpointDir(runDir, steps[steps.length - 1]);
  const state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as CheckpointState;
  const params = await openSafetensorsFile(join(dir, PARAMETERS_FILE));
  try {
    for (const [name, p] of parameters) {
      if (!params.has(name)) throw new SparsekitError('E_CHECKPOINT', `${dir}: ${PARAMETERS_FILE} has no '${name}'`);
      const stored = await params.read(name);
      if (stored.data.length !== p.value.size) throw new SparsekitError('E_CHECKPOINT', `${dir}: '${name}' has ${stored.data.length} values, the model ${p.value.size}`);
      const t = tensor(stored.data as Float32Array, p.shape, 'f32', p.value.backend);
      copyInto(p.value, 0, t);
      t.dispose();
    }
  } finally {
    await params.close();
  }
  const opt = await openSafetensorsFile(join(dir, OPTIMIZER_FILE));
  try {
    const tensors = new Map<string, Tensor>();
    for (const name of opt.names()) {
      const stored = await opt.read(name);
      tensors.set(name, tensor(stored.data as Float32Array | Int32Array, stored.shape, stored.dtype === 'i32' ? 'i32' : 'f32'));
    }
    await optimizer.loadState(tensors);
    for (const t of tensors.values()) t.dispose();
    const rate = opt.metadata.learningRate;
    if (rate !== undefined) optimizer.learningRate = Number(rate);
  } finally {
    await opt.close();
  }
  let masks: Map<string, Uint8Array> | null = null;
  if (state.controller) {
    const file = await openSafetensorsFile(join(dir, MASKS_FILE));
    try {
      masks = new Map();
      for (const name of file.names()) masks.set(name, (await file.read(name)).data as Uint8Array);
    } finally {
      await file.close();
    }
  }
  return { dir, state, masks };
}
