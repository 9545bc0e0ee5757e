/**
 * Bit-exact conversions between f32 and the narrower floats safetensors stores
 * (IEEE 754 binary16, bfloat16, and the OCP FP8 formats E4M3 and E5M2).
 * Everything works on raw bit patterns held in numbers, so NaN payloads, signed zeros,
 * subnormals and infinities survive exactly; JS float arithmetic is never involved.
 */

/** binary16 bits -> binary32 bits. Every binary16 value is exactly representable in binary32. */
export function f16BitsToF32Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // inf, NaN (payload kept)
  // Rebias: binary16 bias 15, binary32 bias 127.
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // signed zero
  // Subnormal: mantissa x 2^-24. Shift the leading 1 up to the implicit-bit position.
  let normalized = mantissa;
  let biasedExponent = 113;
  while ((normalized & 0x400) === 0) {
    normalized <<= 1;
    biasedExponent--;
  }
  return (sign | (biasedExponent << 23) | ((normalized & 0x3ff) << 13)) >>> 0;
}

/** binary32 bits -> binary16 bits, rounding to nearest, ties to even (IEEE 754 default). */
export function f32BitsToF16Bits(single: number): number {
  const sign = (single >>> 16) & 0x8000;
  const exponent = (single >>> 23) & 0xff;
  const mantissa = single & 0x7fffff;
  if (exponent === 0xff) {
    // Keep NaN a NaN (quiet bit set, top payload bits kept) and infinity an infinity.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const halfExponent = exponent - 112; // rebias 127 -> 15
  if (halfExponent >= 0x1f) return sign | 0x7c00; // beyond the largest finite half even before rounding
  if (halfExponent <= 0) {
    // Result is subnormal (or zero): value = m x 2^-24 with m = significand >> shift.
    const shift = 14 - halfExponent;
    if (shift > 24) return sign; // below 2^-25 (half the smallest subnormal): rounds to zero
    return sign | roundShiftRightEven(mantissa | 0x800000, shift);
  }
  // Normal: drop 13 mantissa bits. A carry out of the mantissa correctly bumps the exponent,
  // and a carry out of exponent 30 correctly produces infinity (0x7c00).
  return sign | roundShiftRightEven((halfExponent << 23) | mantissa, 13);
}

/** bfloat16 is the top half of binary32, so widening is a shift. */
export function bf16BitsToF32Bits(brain: number): number {
  return (brain << 16) >>> 0;
}

/** binary32 bits -> bfloat16 bits, rounding to nearest, ties to even. */
export function f32BitsToBf16Bits(single: number): number {
  if ((single & 0x7f800000) === 0x7f800000 && (single & 0x7fffff) !== 0) {
    // NaN whose payload sits only in the low 16 bits would truncate to infinity: force the quiet bit.
    return ((single >>> 16) | 0x40) & 0xffff;
  }
  return roundShiftRightEven(single >>> 0, 16) & 0xffff;
}

/** `value >>> shift` rounded to nearest, ties to even; `value` < 2^32, 1 <= shift <= 24. */
function roundShiftRightEven(value: number, shift: number): number {
  const half = 2 ** (shift - 1);
  const remainder = value % (half * 2);
  const truncated = (value - remainder) / (half * 2);
  if (remainder > half || (remainder === half && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}

let f16Table: Uint32Array | undefined;
let f8E4M3Table: Uint32Array | undefined;
let f8E5M2Table: Uint32Array | undefined;

/** binary16 bits -> binary32 bits for all 65536 patterns (256 KiB, built on first use). */
export function f16ToF32BitsTable(): Uint32Array {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(0x10000);
    for (let half = 0; half < 0x10000; half++) f16Table[half] = f16BitsToF32Bits(half);
  }
  return f16Table;
}

/**
 * FP8 E5M2 (OCP 8-bit floating point spec, torch.float8_e5m2): sign, 5 exponent bits (bias 15),
 * 2 mantissa bits, with IEEE inf and NaN. That is exactly the top byte of a binary16.
 */
export function f8E5M2ToF32BitsTable(): Uint32Array {
  if (f8E5M2Table === undefined) {
    f8E5M2Table = new Uint32Array(256);
    for (let byte = 0; byte < 256; byte++) f8E5M2Table[byte] = f16BitsToF32Bits(byte << 8);
  }
  return f8E5M2Table;
}

/**
 * FP8 E4M3 "FN" (OCP spec, torch.float8_e4m3fn): sign, 4 exponent bits (bias 7), 3 mantissa bits.
 * No infinities; S.1111.111 is NaN, so the largest finite value is 448. Subnormals are m x 2^-9.
 */
export function f8E4M3ToF32BitsTable(): Uint32Array {
  if (f8E4M3Table === undefined) {
    f8E4M3Table = new Uint32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      const sign = (byte & 0x80) << 24;
      const exponent = (byte >>> 3) & 0xf;
      const mantissa = byte & 0x7;
      let bits: number;
      if (exponent === 0xf && mantissa === 0x7) bits = sign | 0x7fc00000;
      else if (exponent !== 0) bits = sign | ((exponent + 120) << 23) | (mantissa << 20); // rebias 7 -> 127
      else if (mantissa === 0) bits = sign;
      else {
        // Subnormal m x 2^-9 with m in 1..7: normalize like the binary16 case.
        let normalized = mantissa;
        let biasedExponent = 121;
        while ((normalized & 0x8) === 0) {
          normalized <<= 1;
          biasedExponent--;
        }
        bits = sign | (biasedExponent << 23) | ((normalized & 0x7) << 20);
      }
      f8E4M3Table[byte] = bits >>> 0;
    }
  }
  return f8E4M3Table;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The binary32 bit pattern of `value` after rounding it to f32 (Math.fround semantics). */
export function f32ToBits(value: number): number {
  scratchF32[0] = value;
  return scratchU32[0];
}

/** The f32 whose bit pattern is `bits`. NaN payloads may not survive the trip through a JS number. */
export function bitsToF32(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0];
}
