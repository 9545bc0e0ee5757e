/**
 * Runs one WebAssembly kernel at a time across the calling thread and its workers, all sharing
 * one memory. A job is a kernel, its arguments and a list of partition bounds; every thread takes
 * partitions from a shared ticket until none are left (so a thread slowed by a noisy neighbour
 * takes fewer), then counts it done. Signalling is Atomics.wait/notify on a control block inside
 * the shared memory: no message per job. The loop that takes and runs partitions is the kernels
 * module's own (wasm/jobs.ts, which calls the kernel by its number in KERNEL_NAMES), so a job
 * returns to JavaScript once per thread, not once per partition.
 *
 * The ticket holds the job's number, its partition count and the next partition in one word,
 * and a thread takes a partition only by compare-and-swap on a ticket of the job it was woken
 * for. A thread still looping after the last partition of one job, while the caller writes the
 * next, thus sees either the old ticket (nothing left) or the new one (not its job), never a mix:
 * with a counter and a separate partition count it could read the old counter against the new
 * count, run a partition of the next job that was then handed out again, count it twice, and let
 * the caller return while another partition was still being written.
 */
import { SparsekitError } from '../../core/errors.js';

// Int32 slots of the control block.
const GENERATION = 0; // bumped to start a job; workers wait on it
const TICKET = 1; // (job number & 0xffff) << 16 | partitions << 8 | next partition to take
const DONE = 2; // partitions finished
const KERNEL = 4; // kernel index into the name list
const QUIT = 6;
const FAILED = 7; // set by a thread whose kernel threw
// Who sleeps in Atomics.wait: workers on GENERATION (a count), the caller on DONE (0 or 1). A
// notify is a call into the engine's futex emulation, about 3 us when a kernel has just streamed
// megabytes through the caches; threads that poll need none, so it is sent only to sleepers.
// (A sleeper announces itself before it waits and waits only while the slot holds the old value:
// a notify it misses finds the value already changed.)
const SLEEPING_WORKERS = 8;
const CALLER_SLEEPING = 9;
const BOUNDS = 16; // partitions + 1 i32 bounds from here
export const MAX_PARTITIONS = 240; // partition numbers fit the ticket's low 8 bits
const ARGS_BYTE_OFFSET = 1088; // f64 arguments from here, past the last bound (byte 4 * (BOUNDS + MAX_PARTITIONS + 1))
/**
 * How long an idle thread polls before it sleeps in Atomics.wait. Waking a sleeping thread takes
 * tens of microseconds on a virtual machine, a large share of a sub-millisecond decode kernel;
 * polling briefly keeps back-to-back kernels (a forward pass) on hot threads, as OpenMP runtimes
 * spin before blocking (GOMP_SPINCOUNT).
 */
const SPIN_MS = 5;
export const MAX_ARGS = 32;
/** Bytes the control block takes in the shared memory. */
export const CONTROL_BLOCK_BYTES = ARGS_BYTE_OFFSET + MAX_ARGS * 8;

export type KernelFunction = (...args: number[]) => unknown;

/** What a worker is told at start (structured-cloneable). */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly controlOffset: number;
  readonly threadIndex: number;
}

export interface WorkerHandle {
  terminate(): void;
}

/** Instantiates the kernels module against the shared memory. */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<Record<string, KernelFunction>> {
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as Record<string, KernelFunction>;
}

const JOB_MASK = 0xffff;

/** The ticket of job `generation` with `parts` partitions, before any is taken. */
function firstTicket(generation: number, parts: number): number {
  return ((generation & JOB_MASK) << 16) | (parts << 8);
}

/** The kernels module's partition loop (wasm/jobs.ts): takes and runs partitions of job `job` until none is left. */
export type TakePartitions = (controlOffset: number, job: number, threadIndex: number) => void;

/**
 * Takes partitions of job `generation` until none remain, in WebAssembly (wasm/jobs.ts). Shared by
 * the calling thread and the workers. The job's arguments and bounds were written before its
 * ticket was published and stay until every partition is done. A kernel that traps leaves its
 * partition taken but not counted: it is recorded as failed and counted here, and the loop goes
 * on with the partitions left, so that run() still returns.
 */
function takePartitions(ctrl: Int32Array, take: TakePartitions, controlOffset: number, threadIndex: number, generation: number): void {
  for (;;) {
    try {
      take(controlOffset, generation & JOB_MASK, threadIndex);
      return;
    } catch {
      Atomics.store(ctrl, FAILED, 1);
      const parts = (Atomics.load(ctrl, TICKET) >>> 8) & 0xff;
      if (Atomics.add(ctrl, DONE, 1) + 1 === parts) Atomics.notify(ctrl, DONE);
    }
  }
}

/** Polls ctrl[slot] for up to SPIN_MS; returns true if it still equals `value` (time to sleep). */
function spinWhileEqual(ctrl: Int32Array, slot: number, value: number): boolean {
  const start = performance.now();
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, slot) !== value) return false;
    if (performance.now() - start > SPIN_MS) return true;
  }
}

/** The loop a worker runs until told to quit; `onReady` fires once its kernels are instantiated. */
export async function runWorker(init: WorkerInit, onReady: () => void): Promise<void> {
  const exports = await instantiateKernels(init.module, init.memory);
  onReady();
  const take = exports.take_partitions as TakePartitions;
  const ctrl = new Int32Array(init.memory.buffer, init.controlOffset, BOUNDS + MAX_PARTITIONS + 1);
  let seen = Atomics.load(ctrl, GENERATION);
  for (;;) {
    if (spinWhileEqual(ctrl, GENERATION, seen)) {
      Atomics.add(ctrl, SLEEPING_WORKERS, 1);
      Atomics.wait(ctrl, GENERATION, seen);
      Atomics.sub(ctrl, SLEEPING_WORKERS, 1);
    }
    const generation = Atomics.load(ctrl, GENERATION);
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(ctrl, QUIT)) return;
    takePartitions(ctrl, take, init.controlOffset, init.threadIndex, generation);
  }
}

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly kernels: KernelFunction[];
  private readonly kernelIndex = new Map<string, number>();
  private readonly take: TakePartitions;
  private closed = false;

  /**
   * `exports` are the calling thread's instance; `workers` run `runWorker` on the same module and
   * memory. `canBlock` is false on a browser's main thread, where Atomics.wait is not allowed.
   */
  constructor(
    memory: WebAssembly.Memory,
    private readonly controlOffset: number,
    exports: Record<string, KernelFunction>,
    kernelNames: readonly string[],
    private readonly workers: readonly WorkerHandle[],
    private readonly canBlock: boolean,
  ) {
    this.ctrl = new Int32Array(memory.buffer, controlOffset, BOUNDS + MAX_PARTITIONS + 1);
    this.args = new Float64Array(memory.buffer, controlOffset + ARGS_BYTE_OFFSET, MAX_ARGS);
    this.kernels = kernelNames.map((n) => {
      if (typeof exports[n] !== 'function') throw new SparsekitError('E_WASM', `kernel '${n}' is missing from the WebAssembly module`);
      return exports[n];
    });
    kernelNames.forEach((n, i) => this.kernelIndex.set(n, i));
    checkKernelNumbers(memory, exports, kernelNames);
    this.take = exports.take_partitions as TakePartitions;
  }

  /** Threads that run a job: the caller plus the workers. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs kernel(args..., begin, end, threadIndex) for each [bounds[p], bounds[p + 1]) and returns
   * when all are done. A single partition runs on the calling thread only.
   */
  run(kernel: string, args: readonly number[], bounds: readonly number[]): void {
    if (this.closed) throw new SparsekitError('E_WASM', 'the CPU backend was disposed');
    const index = this.kernelIndex.get(kernel);
    if (index === undefined) throw new SparsekitError('E_WASM', `unknown kernel '${kernel}'`);
    const parts = bounds.length - 1;
    if (parts < 1) return;
    if (parts > MAX_PARTITIONS) throw new SparsekitError('E_WASM', `${parts} partitions exceed ${MAX_PARTITIONS}`);
    if (args.length > MAX_ARGS) throw new SparsekitError('E_WASM', `${args.length} kernel arguments exceed ${MAX_ARGS}`);
    if (parts === 1 || this.workers.length === 0) {
      for (let p = 0; p < parts; p++) this.kernels[index](...args, bounds[p], bounds[p + 1], 0);
      return;
    }
    const ctrl = this.ctrl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    for (let i = 0; i <= parts; i++) ctrl[BOUNDS + i] = bounds[i];
    ctrl[KERNEL] = index;
    Atomics.store(ctrl, FAILED, 0);
    Atomics.store(ctrl, DONE, 0);
    // Publish: the ticket first, then the generation workers wait on (a worker that sees the new
    // generation sees the new ticket; one still on the old job sees a ticket not its own).
    const generation = (Atomics.load(ctrl, GENERATION) + 1) | 0;
    Atomics.store(ctrl, TICKET, firstTicket(generation, parts));
    Atomics.store(ctrl, GENERATION, generation);
    if (Atomics.load(ctrl, SLEEPING_WORKERS) > 0) Atomics.notify(ctrl, GENERATION, Math.min(parts - 1, this.workers.length));
    takePartitions(ctrl, this.take, this.controlOffset, 0, generation);
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done >= parts) break;
      if (spinWhileEqual(ctrl, DONE, done) && this.canBlock) {
        Atomics.store(ctrl, CALLER_SLEEPING, 1);
        Atomics.wait(ctrl, DONE, done);
        Atomics.store(ctrl, CALLER_SLEEPING, 0);
      }
    }
    if (Atomics.load(ctrl, FAILED)) throw new SparsekitError('E_WASM', `kernel '${kernel}' trapped (an out-of-bounds memory access or an unreachable case)`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, GENERATION, 1);
    Atomics.notify(this.ctrl, GENERATION);
    for (const w of this.workers) w.terminate();
  }
}

/**
 * Throws unless the module's partition loop numbers its kernels as `kernelNames` does (jobs name
 * their kernel by index; wasm/jobs.ts keeps the same list as kernels.ts, by hand).
 */
function checkKernelNumbers(memory: WebAssembly.Memory, exports: Record<string, KernelFunction>, kernelNames: readonly string[]): void {
  const nameAt = (i: number): string | null => {
    const ptr = exports.kernel_name(i) as number;
    if (ptr === 0) return null;
    // An AssemblyScript string: its byte length in the header word before it, then UTF-16 code units.
    const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
    return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes / 2));
  };
  for (let i = 0; i <= kernelNames.length; i++) {
    const name = nameAt(i);
    if (name !== (kernelNames[i] ?? null)) {
      throw new SparsekitError('E_WASM', `the kernels module numbers kernel ${i} as '${name}', the thread pool as '${kernelNames[i] ?? null}'`);
    }
  }
}

/**
 * Bounds splitting [0, n) into `parts` nearly equal ranges whose inner edges are multiples of
 * `multiple` (e.g. a kernel's row-tile height).
 */
export function evenBounds(n: number, parts: number, multiple = 1): number[] {
  const units = Math.ceil(n / multiple);
  const p = Math.max(1, Math.min(parts, units));
  const bounds = [0];
  for (let i = 1; i < p; i++) bounds.push(Math.min(n, Math.round((units * i) / p) * multiple));
  bounds.push(n);
  return bounds;
}

/**
 * Bounds over rows whose costs are given by a prefix sum (CSR row pointers): each partition gets
 * about the same total cost, not the same number of rows.
 */
export function prefixBalancedBounds(prefix: ArrayLike<number>, rows: number, parts: number, multiple = 1): number[] {
  const total = prefix[rows] - prefix[0];
  const p = Math.max(1, Math.min(parts, Math.ceil(rows / multiple)));
  const bounds = [0];
  let row = 0;
  for (let i = 1; i < p; i++) {
    const target = prefix[0] + (total * i) / p;
    row = firstAtLeast(prefix, target, row, rows);
    const aligned = Math.min(rows, Math.round(row / multiple) * multiple);
    if (aligned > bounds[bounds.length - 1]) bounds.push(aligned);
  }
  if (bounds[bounds.length - 1] !== rows) bounds.push(rows);
  return bounds;
}

/**
 * The first index in [from, to) whose prefix value is >= target, or `to` (prefix is
 * non-decreasing). Binary search: the linear scan it replaced took 1.9-2.2 us over 2,048 row
 * pointers (0.2 us now), when the bounds were computed on every sparse product; they are now
 * computed once per weight (sparse-kernels.ts rowSplit, linear-group.ts boundsOf).
 */
export function firstAtLeast(prefix: ArrayLike<number>, target: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (prefix[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
