/**
 * Random keys, values and strings for the retrieval tasks. InfiniteBench's Retr.KV (which SCBench
 * reuses) draws keys and values as UUID4 strings, 36 characters of incompressible hex: a cache
 * policy cannot keep a summary of them, only the tokens themselves.
 */
import { ArgumentError } from '../../core/errors.js';
import type { Random } from '../../core/random.js';

const HEX = '0123456789abcdef';
export const UUID_LENGTH = 36;

/** `length` characters drawn uniformly from `alphabet`. */
export function randomString(rng: Random, length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(alphabet.length)];
  return out;
}

/** A version-4 UUID, xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx with y in 8..b (RFC 4122). */
export function uuid4(rng: Random): string {
  const hex = randomString(rng, 32, HEX).split('');
  hex[12] = '4';
  hex[16] = '89ab'[rng.int(4)];
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A drawer of strings of a given length: over `alphabet` when one is given; otherwise UUID-like,
 * a UUID4 at length 36 and lowercase hex at any other length.
 */
export function stringDrawer(alphabet: string | undefined): (rng: Random, length: number) => string {
  if (alphabet !== undefined) return (rng, length) => randomString(rng, length, alphabet);
  return (rng, length) => (length === UUID_LENGTH ? uuid4(rng) : randomString(rng, length, HEX));
}

/** How many distinct strings the drawer can make; used to refuse impossible requests early. */
export function distinctCapacity(alphabet: string | undefined, length: number): number {
  if (alphabet === undefined) return length === UUID_LENGTH ? 2 ** 122 : 16 ** length;
  return alphabet.length ** length;
}

/**
 * Draws until `draw()` gives a string not in `taken`, adds it and returns it. Gives up (with the
 * task's name and the cause) after many collisions, which means the space is nearly exhausted.
 */
export function drawDistinct(task: string, what: string, taken: Set<string>, draw: () => string): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const s = draw();
    if (!taken.has(s)) {
      taken.add(s);
      return s;
    }
  }
  throw new ArgumentError(`${task}: cannot draw another distinct ${what} after ${taken.size}; use longer ${what}s or a larger alphabet`);
}
