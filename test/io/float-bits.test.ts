import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bf16BitsToF32Bits,
  bitsToF32,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBits,
} from '../../src/io/float-bits.js';
import { decodeToEngine } from '../../src/io/safetensors-decode.js';
import { encodeFromF32 } from '../../src/io/safetensors-encode.js';
import type { SafetensorsDType } from '../../src/io/safetensors-format.js';
import { referenceBf16, referenceF16, referenceF8E4M3, referenceF8E5M2, sameFloat } from './helpers.js';

/** Encodes f32 bit patterns (not numbers, so NaN payloads survive) and returns the u16 results. */
function encodeBits(f32Bits: number[], dtype: 'F16' | 'BF16'): number[] {
  const values = new Float32Array(new Uint32Array(f32Bits).buffer);
  const bytes = encodeFromF32(values, dtype);
  return [...new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)];
}

function decodeBytes(dtype: SafetensorsDType, stored: Uint8Array | Uint16Array): Float32Array {
  const raw = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  const count = stored.length;
  return decodeToEngine({ name: 't', dtype, shape: [count], dataOffsets: [0, raw.length] }, raw) as Float32Array;
}

const hex = (values: number[]) => values.map((value) => `0x${value.toString(16).padStart(4, '0')}`);

describe('f16 and bf16 decoding', () => {
  it('matches the reference decoder for all 65536 binary16 patterns, bit-exact NaN payloads included', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const decoded = decodeBytes('F16', all);
    const decodedBits = new Uint32Array(decoded.buffer);
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!sameFloat(decoded[bits], referenceF16(bits))) assert.fail(`f16 0x${bits.toString(16)}: ${decoded[bits]}`);
      assert.equal(decodedBits[bits], f16BitsToF32Bits(bits));
      // Widening then narrowing is the identity except that signalling NaNs come back quiet.
      const back = f32BitsToF16Bits(f16BitsToF32Bits(bits));
      if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) assert.equal(back, bits | 0x200);
      else assert.equal(back, bits);
    }
    assert.equal(decodedBits[0x7c01], 0x7f802000, 'NaN payload is kept');
  });

  it('matches the reference decoder for all 65536 bfloat16 patterns', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const decoded = decodeBytes('BF16', all);
    for (let bits = 0; bits < 0x10000; bits++) {
      if (!sameFloat(decoded[bits], referenceBf16(bits))) assert.fail(`bf16 0x${bits.toString(16)}: ${decoded[bits]}`);
      assert.equal(bf16BitsToF32Bits(bits), new Uint32Array(decoded.buffer)[bits]);
    }
  });

  it('decodes all 256 patterns of F8_E4M3 and F8_E5M2 like the reference', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const e4m3 = decodeBytes('F8_E4M3', all);
    const e5m2 = decodeBytes('F8_E5M2', all);
    for (let bits = 0; bits < 256; bits++) {
      assert.ok(sameFloat(e4m3[bits], referenceF8E4M3(bits)), `e4m3 0x${bits.toString(16)}`);
      assert.ok(sameFloat(e5m2[bits], referenceF8E5M2(bits)), `e5m2 0x${bits.toString(16)}`);
    }
    // Hand-checked against the OCP FP8 spec tables.
    assert.deepEqual([...decodeBytes('F8_E4M3', Uint8Array.of(0x38, 0xb8, 0x7e, 0x77, 0x01, 0x08, 0x80))], [1, -1, 448, 240, 2 ** -9, 2 ** -6, -0]);
    assert.ok(Number.isNaN(e4m3[0x7f]) && Number.isNaN(e4m3[0xff]), 'E4M3 S.1111.111 is NaN');
    assert.equal(e4m3[0x7e], 448, 'E4M3 has no infinity');
    assert.deepEqual([...decodeBytes('F8_E5M2', Uint8Array.of(0x3c, 0x7b, 0x7c, 0xfc, 0x01, 0x04))], [1, 57344, Infinity, -Infinity, 2 ** -16, 2 ** -14]);
    assert.ok(Number.isNaN(e5m2[0x7d]) && Number.isNaN(e5m2[0xff]));
  });
});

describe('encodeFromF32 rounding', () => {
  it('rounds to nearest, ties to even, into F16 (hand-computed)', () => {
    const cases: Array<[number, number, string]> = [
      [1, 0x3c00, 'one'],
      [-2, 0xc000, 'negative'],
      [0.1, 0x2e66, '0.1 rounds up'],
      [1 / 3, 0x3555, '1/3 rounds down'],
      [65504, 0x7bff, 'largest finite'],
      [65519, 0x7bff, 'just below the overflow midpoint'],
      [65520, 0x7c00, 'overflow midpoint ties to even = infinity'],
      [1e6, 0x7c00, 'overflow'],
      [2 ** -14, 0x0400, 'smallest normal'],
      [2 ** -14 - 2 ** -25, 0x0400, 'tie between largest subnormal (odd) and smallest normal (even)'],
      [2 ** -24, 0x0001, 'smallest subnormal'],
      [2 ** -25, 0x0000, 'half the smallest subnormal ties to zero'],
      [-(2 ** -25), 0x8000, 'negative tie keeps the sign'],
      [3 * 2 ** -26, 0x0001, 'above the first midpoint'],
      [3 * 2 ** -25, 0x0002, 'subnormal tie 1.5 -> 2'],
      [5 * 2 ** -25, 0x0002, 'subnormal tie 2.5 -> 2'],
      [1e-8, 0x0000, 'underflow'],
      [2 ** -149, 0x0000, 'f32 subnormal'],
      [1 + 2 ** -11, 0x3c00, 'tie to even below'],
      [1 + 3 * 2 ** -11, 0x3c02, 'tie to even above'],
      [1 + 2 ** -11 + 2 ** -20, 0x3c01, 'just above a tie'],
      [-0, 0x8000, 'negative zero'],
      [Infinity, 0x7c00, 'infinity'],
      [-Infinity, 0xfc00, 'negative infinity'],
    ];
    const actual = encodeBits(cases.map(([value]) => f32ToBits(value)), 'F16');
    cases.forEach(([value, expected, label], i) => {
      assert.equal(hex([actual[i]])[0], hex([expected])[0], `${label} (${value})`);
    });
    // NaNs stay NaN, including a signalling NaN whose payload is only in bits a shift would drop.
    assert.deepEqual(hex(encodeBits([0x7fc00000, 0x7f800001, 0xffc00000], 'F16')), hex([0x7e00, 0x7e00, 0xfe00]));
  });

  it('rounds to nearest, ties to even, into BF16 (hand-computed)', () => {
    const cases: Array<[number, number, string]> = [
      [0x3f800000, 0x3f80, 'one'],
      [0x3dcccccd, 0x3dcd, '0.1 rounds up'],
      [0x3f808000, 0x3f80, 'tie to even below'],
      [0x3f818000, 0x3f82, 'tie to even above'],
      [0x3f808001, 0x3f81, 'just above a tie'],
      [0x3f807fff, 0x3f80, 'just below a tie'],
      [0x7f7f7fff, 0x7f7f, 'largest finite stays finite'],
      [0x7f7fffff, 0x7f80, 'f32 max rounds to infinity'],
      [0x00000001, 0x0000, 'smallest f32 subnormal'],
      [0x00008000, 0x0000, 'subnormal tie to even (zero)'],
      [0x00018000, 0x0002, 'subnormal tie to even (up)'],
      [0x00008001, 0x0001, 'subnormal above a tie'],
      [0x80000000, 0x8000, 'negative zero'],
      [0xff800000, 0xff80, 'negative infinity'],
      [0x7fc00000, 0x7fc0, 'quiet NaN'],
      [0x7f800001, 0x7fc0, 'NaN with a low payload must not become infinity'],
      [0xff800001, 0xffc0, 'negative NaN'],
    ];
    const actual = encodeBits(cases.map(([bits]) => bits), 'BF16');
    cases.forEach(([bits, expected, label], i) => {
      assert.equal(hex([actual[i]])[0], hex([expected])[0], `${label} (0x${bits.toString(16)})`);
    });
  });

  it('F32 encoding is the little-endian bytes of the values', () => {
    assert.deepEqual([...encodeFromF32(Float32Array.of(1, -2), 'F32')], [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });

  /** Checks `encoded` is a nearest representable value to `value`, and the even one on a tie. */
  function assertNearestEven(value: number, encoded: number, decode: (bits: number) => number, label: string): void {
    const sign = encoded & 0x8000;
    const magnitude = encoded & 0x7fff;
    const distance = Math.abs(decode(encoded) - value);
    for (const neighbour of [magnitude - 1, magnitude + 1]) {
      if (neighbour < 0) continue;
      const other = Math.abs(decode(sign | neighbour) - value);
      assert.ok(distance <= other, `${label}: ${value} -> 0x${encoded.toString(16)}, but 0x${(sign | neighbour).toString(16)} is nearer`);
      if (distance === other) assert.equal(encoded & 1, 0, `${label}: tie for ${value} must go to the even pattern`);
    }
  }

  it('F16: every finite f32 in range encodes to a nearest half, ties to even (property)', () => {
    fc.assert(
      fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (value) => {
        assertNearestEven(value, encodeBits([f32ToBits(value)], 'F16')[0], referenceF16, 'f16');
      }),
      { numRuns: 2000 },
    );
  });

  it('BF16: every finite f32 below the overflow midpoint encodes to a nearest bfloat16, ties to even (property)', () => {
    const overflowMidpoint = bitsToF32(0x7f7f8000);
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const encoded = encodeBits([f32ToBits(value)], 'BF16')[0];
        if (Math.abs(value) >= overflowMidpoint) assert.equal(encoded & 0x7fff, 0x7f80);
        else assertNearestEven(value, encoded, referenceBf16, 'bf16');
      }),
      { numRuns: 2000 },
    );
  });

  it('f32BitsToBf16Bits and f32BitsToF16Bits agree with encodeFromF32', () => {
    const bits = [0x3f808000, 0x7f7fffff, 0x00018000];
    assert.deepEqual(encodeBits(bits, 'BF16'), bits.map(f32BitsToBf16Bits));
    assert.deepEqual(encodeBits(bits, 'F16'), bits.map(f32BitsToF16Bits));
  });
});
