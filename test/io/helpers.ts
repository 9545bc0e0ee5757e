/** Shared by the io tests: hand-built safetensors bytes, temp dirs, and independent reference decoders. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError } from '../../src/io/safetensors-error.js';

/**
 * A safetensors file assembled byte by byte: u64 little-endian length, header bytes, data.
 * `declaredLength` overrides the length prefix to build inconsistent files.
 */
export function safetensorsBytes(
  header: string | Uint8Array,
  data: Uint8Array | number = 0,
  declaredLength?: number | bigint,
): Uint8Array {
  const headerBytes = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const dataBytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const file = new Uint8Array(8 + headerBytes.length + dataBytes.length);
  new DataView(file.buffer).setBigUint64(0, BigInt(declaredLength ?? headerBytes.length), true);
  file.set(headerBytes, 8);
  file.set(dataBytes, 8 + headerBytes.length);
  return file;
}

/** Bytes from a Python-style escaped literal such as '@\x00\x00{"a":1}' (each char one byte). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

export async function makeTempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `sparsekit-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Asserts `promise` rejects with a SafetensorsError naming `fileName` (and `tensor`) and matching `pattern`. */
export async function assertSafetensorsError(
  promise: Promise<unknown>,
  fileName: string,
  pattern: RegExp,
  tensor?: string,
): Promise<SafetensorsError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SafetensorsError, `expected a SafetensorsError, got ${String(caught)}`);
  assert.equal(caught.code, 'E_SAFETENSORS');
  assert.ok(caught.message.startsWith(`${fileName}: `), `message should start with the file name: ${caught.message}`);
  if (tensor !== undefined) {
    assert.ok(caught.message.includes(`tensor ${JSON.stringify(tensor)}`), `message should name the tensor: ${caught.message}`);
    assert.equal(caught.tensorName, tensor);
  }
  assert.match(caught.message, pattern);
  return caught;
}

// Reference decoders written from the format definitions with plain arithmetic, independent of
// the bit manipulation in src/io/float-bits.ts, so the two can check each other.

function fromParts(bits: number, exponentBits: number, mantissaBits: number, hasInfinity: boolean): number {
  const sign = (bits >>> (exponentBits + mantissaBits)) & 1 ? -1 : 1;
  const exponent = (bits >>> mantissaBits) & ((1 << exponentBits) - 1);
  const mantissa = bits & ((1 << mantissaBits) - 1);
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxExponent = (1 << exponentBits) - 1;
  if (hasInfinity && exponent === maxExponent) return mantissa === 0 ? sign * Infinity : NaN;
  if (!hasInfinity && exponent === maxExponent && mantissa === (1 << mantissaBits) - 1) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  return sign * (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponent - bias);
}

export const referenceF16 = (bits: number): number => fromParts(bits, 5, 10, true);
export const referenceBf16 = (bits: number): number => fromParts(bits, 8, 7, true);
export const referenceF8E4M3 = (bits: number): number => fromParts(bits, 4, 3, false);
export const referenceF8E5M2 = (bits: number): number => fromParts(bits, 5, 2, true);

/** Same number, treating every NaN as equal and telling -0 from +0. */
export function sameFloat(actual: number, expected: number): boolean {
  return Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected));
}

export function assertSameFloats(actual: ArrayLike<number>, expected: ArrayLike<number>, label = ''): void {
  assert.equal(actual.length, expected.length, `${label} length`);
  for (let i = 0; i < expected.length; i++) {
    if (!sameFloat(actual[i], expected[i])) assert.fail(`${label} element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}
