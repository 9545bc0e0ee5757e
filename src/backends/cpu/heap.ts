/**
 * The CPU backend keeps every tensor inside one WebAssembly.Memory, so kernels read weights in
 * place (no copy per call) and worker threads share them. This is its allocator: size classes
 * for small blocks (eager ops make many short-lived temporaries), and a coalescing best-fit
 * list for large ones (weights), both over a bump region that grows the memory on demand.
 */
import { BYTES_PER_ELEMENT, type DType, type TypedArrayOf } from '../../core/dtype.js';
import { SparsekitError } from '../../core/errors.js';
import { formatBytes } from '../../core/units.js';

const ALIGN = 64; // cache line; also keeps every v128 load aligned
const SMALL_LIMIT = 1 << 16; // blocks up to 64 KiB use power-of-two size classes
const LARGE_GRAIN = 1 << 12;
/**
 * Bytes of memory kept readable past the top block: kernels may load a whole vector that starts
 * inside a block and runs past its end (bitmap_spmv reads 32 bytes from a row's value pointer,
 * its lanes past the row's values zeroed by the shuffle), which must not fault at the end of memory.
 */
const READ_SLACK = 64;
const PAGE = 1 << 16;
export const MAX_HEAP_BYTES = 4 * 1024 * 1024 * 1024 - PAGE; // wasm32: 65536 pages, less one for safety

/** Views of the whole memory, one per element width. */
interface WholeViews {
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  readonly u16: Uint16Array;
  readonly u8: Uint8Array;
}

interface FreeBlock {
  offset: number;
  size: number;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly sizes = new Map<number, number>();
  /** Free small blocks by size class: index log2(size) - 6 (64 bytes to 64 KiB). An array, not a Map: fewer cold cache lines a call. */
  private readonly smallFree: number[][] = Array.from({ length: Math.log2(SMALL_LIMIT / ALIGN) + 1 }, () => []);
  private largeFree: FreeBlock[] = []; // sorted by offset
  private inUse = 0;
  private peak = 0;
  private whole: WholeViews | null = null;

  /** Allocations start at `base`; bytes below it belong to the kernels' own data and control blocks. */
  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    this.top = base;
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  get peakBytesInUse(): number {
    return this.peak;
  }

  /** Bytes the memory spans now (allocated, free-listed and headroom). */
  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  resetPeak(): void {
    this.peak = this.inUse;
  }

  /** A 64-byte aligned block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    const wanted = roundSize(Math.max(bytes, 1));
    const [offset, size] = wanted <= SMALL_LIMIT ? [this.allocSmall(wanted), wanted] : this.allocLarge(wanted);
    this.sizes.set(offset, size);
    this.inUse += size;
    this.peak = Math.max(this.peak, this.inUse);
    return offset;
  }

  free(offset: number): void {
    const size = this.sizes.get(offset);
    if (size === undefined) throw new SparsekitError('E_HEAP', `free of unknown block at ${offset}`);
    this.sizes.delete(offset);
    this.inUse -= size;
    if (size <= SMALL_LIMIT) {
      this.smallFree[sizeClass(size)].push(offset);
    } else {
      this.freeLarge(offset, size);
    }
  }

  /**
   * A typed view of `length` elements at `offset`, valid until the next memory growth of
   * non-shared memory: a subarray of a view of the whole memory, made once per growth. Right after
   * a kernel that streamed megabytes through the caches, a new view of the memory's buffer took
   * 5.9-6.7 us (its buffer getter alone 2-3 us) and this takes 4.9-5.4 us; the JavaScript ops of
   * a decode step take a few views each.
   */
  view<D extends DType>(dtype: D, offset: number, length: number): TypedArrayOf<D> {
    const width = BYTES_PER_ELEMENT[dtype];
    const whole = this.wholeViews();
    if (offset % width !== 0 || offset < 0 || length < 0 || offset + length * width > whole.u8.length) {
      throw new SparsekitError('E_HEAP', `a ${dtype} view of ${length} elements at byte ${offset} does not fit the heap`);
    }
    const start = offset / width;
    switch (dtype) {
      case 'f32':
        return whole.f32.subarray(start, start + length) as TypedArrayOf<D>;
      case 'i32':
        return whole.i32.subarray(start, start + length) as TypedArrayOf<D>;
      case 'u16':
        return whole.u16.subarray(start, start + length) as TypedArrayOf<D>;
      default:
        return whole.u8.subarray(start, start + length) as TypedArrayOf<D>;
    }
  }

  /** The whole memory as f32 (element i at byte 4i), for copies between blocks (copyWithin). */
  get f32(): Float32Array {
    return this.wholeViews().f32;
  }

  private wholeViews(): WholeViews {
    if (!this.whole) {
      const buffer = this.memory.buffer;
      this.whole = { f32: new Float32Array(buffer), i32: new Int32Array(buffer), u16: new Uint16Array(buffer), u8: new Uint8Array(buffer) };
    }
    return this.whole;
  }

  private allocSmall(size: number): number {
    const list = this.smallFree[sizeClass(size)];
    return list.length > 0 ? list.pop()! : this.bump(size);
  }

  /** Best fit among free large blocks, else fresh memory; returns [offset, bytes handed out]. */
  private allocLarge(size: number): [number, number] {
    let best = -1;
    for (let i = 0; i < this.largeFree.length; i++) {
      const b = this.largeFree[i];
      if (b.size >= size && (best < 0 || b.size < this.largeFree[best].size)) best = i;
    }
    if (best < 0) return [this.bump(size), size];
    const block = this.largeFree[best];
    if (block.size - size > SMALL_LIMIT) {
      // Split: hand out the front, keep the rest free.
      const offset = block.offset;
      block.offset += size;
      block.size -= size;
      return [offset, size];
    }
    this.largeFree.splice(best, 1);
    return [block.offset, block.size];
  }

  private freeLarge(offset: number, size: number): void {
    // Keep the list sorted by offset and merge with neighbours so big holes stay usable.
    let lo = 0;
    let hi = this.largeFree.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.largeFree[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    const block = { offset, size };
    this.largeFree.splice(lo, 0, block);
    const next = this.largeFree[lo + 1];
    if (next && block.offset + block.size === next.offset) {
      block.size += next.size;
      this.largeFree.splice(lo + 1, 1);
    }
    const prev = this.largeFree[lo - 1];
    if (prev && prev.offset + prev.size === block.offset) {
      prev.size += block.size;
      this.largeFree.splice(lo, 1);
    }
    // A free block that ends at the top goes back to the bump region.
    const last = this.largeFree[this.largeFree.length - 1];
    if (last && last.offset + last.size === this.top) {
      this.top = last.offset;
      this.largeFree.pop();
    }
  }

  private bump(size: number): number {
    const offset = this.top;
    const end = offset + size;
    if (end > MAX_HEAP_BYTES) {
      throw new SparsekitError(
        'E_OUT_OF_MEMORY',
        `CPU backend heap would need ${formatBytes(end)}, above the 4 GiB a 32-bit WebAssembly memory can address ` +
          `(in use: ${formatBytes(this.inUse)})`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end + READ_SLACK > have) {
      // Grow geometrically (at least 1/8 more) so repeated small growths do not copy or remap often.
      const want = Math.min(MAX_HEAP_BYTES + PAGE, Math.max(end + READ_SLACK, have + have / 8));
      this.memory.grow(Math.ceil((want - have) / PAGE));
      this.whole = null;
    }
    this.top = end;
    return offset;
  }
}

function roundSize(bytes: number): number {
  if (bytes <= SMALL_LIMIT) return bytes <= ALIGN ? ALIGN : 2 ** (32 - Math.clz32(bytes - 1));
  return Math.ceil(bytes / LARGE_GRAIN) * LARGE_GRAIN;
}

/** The free-list index of a small block's (power-of-two) size. */
function sizeClass(size: number): number {
  return 31 - Math.clz32(size / ALIGN);
}
