/**
 * Ordering, batching and error reporting of GPU work. Ops record compute passes into one open
 * command encoder and return at once; the encoder is submitted when a batch is long enough, or
 * when something waits (read, sync). Errors surface where the caller already awaits:
 *  - WebGPU validation / out-of-memory / internal errors go to error scopes, popped and checked
 *    at every wait, so a bad dispatch rejects the next read() instead of passing silently;
 *  - device-side checks (a gather's out-of-range index) are small buffers read at the same time.
 */
import { ArgumentError, SparsekitError } from '../../core/errors.js';
import { BufferUsage, MAP_MODE_READ, paddedSize } from './buffers.js';

/** Ops per submission: enough to amortise submit cost, few enough that the GPU starts early. */
const OPS_PER_SUBMIT = 32;

/** Kernel-parameter slots per batch (each one storage-offset alignment, 256 bytes by default). */
const PARAM_SLOTS = 256;

const SCOPES: readonly GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

export interface DeviceCheck {
  /** Two u32: a failure position (0xffffffff when none) and a detail word. */
  readonly buffer: GPUBuffer;
  readonly error: (position: number, detail: number) => SparsekitError;
}

/**
 * The kernel parameters of one batch, in aligned slots of one buffer, uploaded by a single
 * writeBuffer just before the batch is submitted. The buffer is reused by every batch: queue
 * operations run in order, so a batch reads its parameters before the next write lands.
 * (A buffer per dispatch, mapped at creation, costs ~80 us on Dawn; this costs nothing per dispatch.)
 */
class ParamArena {
  readonly buffer: GPUBuffer;
  private readonly slotWords: number;
  private readonly words: Uint32Array<ArrayBuffer>;
  private used = 0;

  constructor(device: GPUDevice) {
    const slotBytes = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
    this.slotWords = slotBytes / 4;
    this.words = new Uint32Array(this.slotWords * PARAM_SLOTS);
    this.buffer = device.createBuffer({ size: this.words.byteLength, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST, label: 'kernel params' });
  }

  /** Where `data` will be, or null when this batch's slots are used up. */
  place(data: Uint32Array): GPUBufferBinding | null {
    const slots = Math.ceil(data.length / this.slotWords);
    if (this.used + slots > PARAM_SLOTS) return null;
    const offset = this.used * this.slotWords;
    this.words.set(data, offset);
    this.used += slots;
    return { buffer: this.buffer, offset: offset * 4, size: data.byteLength };
  }

  /** Uploads this batch's parameters; call right before submitting it. */
  commit(queue: GPUQueue): void {
    if (this.used > 0) queue.writeBuffer(this.buffer, 0, this.words, 0, this.used * this.slotWords);
    this.used = 0;
  }
}

export class CommandQueue {
  private readonly params: ParamArena;
  private encoder: GPUCommandEncoder | null = null;
  private ops = 0;
  private garbage: GPUBuffer[] = [];
  private checks: DeviceCheck[] = [];
  /** Settles when the error scopes closed so far have reported into `failure`. */
  private scopesReported: Promise<unknown> = Promise.resolve();
  /** The first error since the last wait, kept to be thrown there. */
  private failure: SparsekitError | null = null;

  constructor(private readonly device: GPUDevice) {
    for (const filter of SCOPES) device.pushErrorScope(filter);
    this.params = new ParamArena(device);
    device.addEventListener('uncapturederror', (event) => {
      this.failure ??= webgpuError((event as GPUUncapturedErrorEvent).error.message);
    });
    void device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.failure ??= webgpuError(`device lost: ${info.message}`);
    });
  }

  /** The encoder collecting the current batch. */
  commands(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  /** Binds kernel parameters for a dispatch of the current batch (starting a new batch when it is full). */
  bindParams(data: Uint32Array): GPUBufferBinding {
    let binding = this.params.place(data);
    if (!binding) {
      this.flush();
      binding = this.params.place(data);
      if (!binding) throw webgpuError(`kernel parameters of ${data.byteLength} bytes exceed the parameter buffer`);
    }
    return binding;
  }

  /** Marks the end of one op's commands; submits full batches. */
  opRecorded(): void {
    if (++this.ops >= OPS_PER_SUBMIT) this.flush();
  }

  /** Destroys `buffer` once the work recorded so far, which may use it, is submitted. */
  discard(buffer: GPUBuffer): void {
    if (this.encoder) this.garbage.push(buffer);
    else buffer.destroy();
  }

  /** Verifies `check` at the next wait. */
  addCheck(check: DeviceCheck): void {
    this.checks.push(check);
  }

  /** Submits the recorded batch. Destroying after submit is safe: WebGPU frees a buffer when work using it is done. */
  flush(): void {
    this.params.commit(this.device.queue);
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.ops = 0;
    }
    for (const buffer of this.garbage) buffer.destroy();
    this.garbage = [];
    // Close the scopes of this batch and open the next ones, so every error lands in a scope.
    const closed = SCOPES.map(() =>
      this.device.popErrorScope().then(
        (error) => {
          if (error) this.failure ??= webgpuError(error.message);
        },
        () => undefined, // the scope stack was emptied by someone else: nothing of ours to report
      ),
    );
    for (const filter of SCOPES) this.device.pushErrorScope(filter);
    this.scopesReported = Promise.all([this.scopesReported, ...closed]);
  }

  /**
   * Runs everything recorded so far to completion and throws the first error it raised. With
   * `source`, also copies its first `bytes` bytes out and returns them (the one place that waits
   * on the GPU; mapAsync resolves after all earlier submitted work).
   */
  async finish(source?: { buffer: GPUBuffer; bytes: number }): Promise<ArrayBuffer | null> {
    const staging = source ? this.stage(source.buffer, paddedSize(source.bytes)) : null;
    const checks = this.checks;
    this.checks = [];
    let checkStaging: GPUBuffer | null = null;
    if (checks.length) {
      checkStaging = this.device.createBuffer({ size: 8 * checks.length, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'checks' });
      checks.forEach((c, i) => this.commands().copyBufferToBuffer(c.buffer, 0, checkStaging!, 8 * i, 8));
      for (const c of checks) this.discard(c.buffer);
    }
    this.flush();
    let data: ArrayBuffer | null = null;
    let checkWords: Uint32Array | null = null;
    let mapFailure: unknown = null;
    try {
      [data, checkWords] = await Promise.all([
        staging ? mapCopy(staging, source!.bytes) : this.device.queue.onSubmittedWorkDone().then(() => null),
        checkStaging ? mapCopy(checkStaging, 8 * checks.length).then((b) => new Uint32Array(b)) : null,
      ]);
    } catch (e) {
      mapFailure = e;
    } finally {
      staging?.destroy();
      checkStaging?.destroy();
    }
    // The most specific report first: the API error that caused a failed map, if any.
    await this.scopesReported;
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
    if (mapFailure) throw webgpuError(`reading back failed: ${mapFailure instanceof Error ? mapFailure.message : String(mapFailure)}`);
    if (checkWords) {
      for (let i = 0; i < checks.length; i++) {
        if (checkWords[2 * i] !== 0xffffffff) throw checks[i].error(checkWords[2 * i], checkWords[2 * i + 1]);
      }
    }
    return data;
  }

  private stage(buffer: GPUBuffer, size: number): GPUBuffer {
    const staging = this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'read' });
    this.commands().copyBufferToBuffer(buffer, 0, staging, 0, size);
    return staging;
  }
}

async function mapCopy(staging: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  await staging.mapAsync(MAP_MODE_READ);
  const copy = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  return copy;
}

export function webgpuError(message: string): SparsekitError {
  return new SparsekitError('E_WEBGPU', `webgpu: ${message}`);
}

/** The check for a gather's indices (see shaders/layout.ts gatherKernel). */
export function gatherCheck(buffer: GPUBuffer, V: number): DeviceCheck {
  return {
    buffer,
    error: (position, detail) => new ArgumentError(`gather: index ${detail | 0} at position ${position} is outside [0, ${V})`),
  };
}
