import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WasmHeap } from '../../src/backends/cpu/heap.js';

describe('WasmHeap', () => {
  it('never hands out overlapping blocks, stays aligned and returns every byte', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 300_000 })), { maxLength: 60 }), (steps) => {
        const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 2048 }), 1024);
        const live = new Map<number, number>();
        for (const [allocate, size] of steps) {
          if (allocate || live.size === 0) {
            const at = heap.alloc(size);
            assert.equal(at % 64, 0);
            for (const [o, s] of live) assert.ok(at + size <= o || o + s <= at, 'overlap');
            live.set(at, size);
          } else {
            const [o] = live.keys();
            heap.free(o);
            live.delete(o);
          }
        }
        for (const o of [...live.keys()]) heap.free(o);
        assert.equal(heap.bytesInUse, 0);
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it('reuses freed large blocks instead of growing', () => {
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 4096 }), 1024);
    const a = heap.alloc(10 << 20);
    heap.alloc(1 << 20);
    heap.free(a);
    const size = heap.reservedBytes;
    heap.alloc(8 << 20);
    assert.equal(heap.reservedBytes, size);
  });

  it('names the limit when a 32-bit memory cannot hold a request', () => {
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 16 }), 1024);
    assert.throws(() => heap.alloc(5 * 1024 ** 3), /4 GiB/);
  });

  it('gives views that see the blocks after the memory grows, and refuses views outside it or misaligned', () => {
    const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 64 }), 1024);
    const a = heap.alloc(64);
    heap.view('f32', a, 16).fill(1.5);
    const b = heap.alloc(1 << 20); // grows the memory, so the views of the whole memory are remade
    heap.view('i32', b, 4).set([1, 2, 3, 4]);
    assert.deepEqual([...heap.view('f32', a, 2)], [1.5, 1.5]);
    assert.deepEqual([...heap.view('u16', b, 2)], [1, 0]);
    assert.equal(heap.f32[a / 4], 1.5);
    assert.throws(() => heap.view('f32', heap.reservedBytes - 4, 2), /does not fit the heap/);
    assert.throws(() => heap.view('f32', a + 2, 1), /does not fit the heap/);
  });
});
