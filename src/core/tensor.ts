import type { Backend, Storage } from './backend.js';
import { type DType, type TypedArrayOf } from './dtype.js';
import { ShapeError } from './errors.js';
import { assertValidShape, formatShape, resolveReshape, type Shape, sizeOf } from './shape.js';

/** Storage shared by tensors that view it (reshape); freed when the last one goes. */
class SharedStorage {
  private refs = 1;
  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.backend.release(this.storage);
  }
}

/**
 * One tensor's hold on its storage, released once: by dispose(), or by the collector for a tensor
 * that was never disposed.
 */
class StorageHold {
  private held = true;
  constructor(readonly shared: SharedStorage) {}
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.shared.release();
  }
}

// Tensors that were never disposed still give their memory back when collected. Registered
// without an unregister token: V8 keeps tokens in a hash table, and a register with one plus the
// unregister in dispose() took about 4 us a tensor when a kernel had just streamed megabytes
// through the caches, against 1.7 us without; a disposed tensor's hold is already released, so
// its finalizer does nothing.
const collector = new FinalizationRegistry<StorageHold>((hold) => hold.release());

/** Tensors created inside `tidy` scopes, innermost last. */
const scopes: Set<Tensor>[] = [];

/**
 * An n-dimensional array of one dtype on one backend. Always contiguous and row-major;
 * layout changes (transpose, slice) make new tensors, reshape shares the storage.
 */
export class Tensor<D extends DType = DType> {
  readonly shape: Shape;
  readonly dtype: D;
  readonly size: number;
  readonly backend: Backend;
  private hold: StorageHold | null;

  /** Wraps storage the backend just made; the tensor owns it. Use the factories in ops.ts instead. */
  constructor(backend: Backend, storage: Storage, shape: Shape, dtype: D, shared?: SharedStorage) {
    assertValidShape(shape);
    // A copy, so that the caller's array cannot change it; readonly by type, not frozen: a freeze
    // is a call into V8's runtime, about 3 us a tensor with cold caches.
    this.shape = [...shape];
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.backend = backend;
    if (shared) shared.retain();
    this.hold = new StorageHold(shared ?? new SharedStorage(backend, storage));
    collector.register(this, this.hold);
    scopes[scopes.length - 1]?.add(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.hold === null;
  }

  /** The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (!this.hold) throw new ShapeError(`tensor ${formatShape(this.shape)} ${this.dtype} was used after dispose()`);
    return this.hold.shared.storage;
  }

  /** A copy of the values, once queued work has finished. */
  read(): Promise<TypedArrayOf<D>> {
    return this.backend.read(this.storage, this.dtype, this.size);
  }

  /** A copy of the values, synchronously; only on backends that compute synchronously (CPU). */
  readSync(): TypedArrayOf<D> {
    const readSync = this.backend.readSync;
    if (!readSync) throw new ShapeError(`backend '${this.backend.name}' has no synchronous read; use await tensor.read()`);
    return readSync(this.storage, this.dtype, this.size);
  }

  /** The same elements under another shape (one dim may be -1); shares storage. */
  reshape(shape: Shape): Tensor<D> {
    const target = resolveReshape(this.size, shape);
    return new Tensor(this.backend, this.storage, target, this.dtype, this.hold!.shared);
  }

  dispose(): void {
    if (!this.hold) return;
    this.hold.release();
    this.hold = null;
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}, ${this.backend.name})`;
  }
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (as tfjs's tidy):
 * keeps eager code such as a forward pass free of manual dispose calls.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  collectTensors(result, keep);
  for (const t of scope) {
    if (keep.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

/** Moves a tensor out of the enclosing tidy scope so it survives it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Something made of tensors (a sparse matrix's parts, a model's weights): tidy() keeps them all. */
export interface TensorContainer {
  tensors(): Tensor[];
}

function isTensorContainer(value: unknown): value is TensorContainer {
  return typeof (value as Partial<TensorContainer> | null)?.tensors === 'function';
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (isTensorContainer(value)) for (const t of value.tensors()) into.add(t);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
}
