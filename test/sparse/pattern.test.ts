import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ArgumentError } from '../../src/core/errors.js';
import { bitsPerIndexFor, formatNm, nmIndexRowBytes, nmSparsity, parseNm, readPackedIndex, writePackedIndex } from '../../src/sparse/pattern.js';
import { FC } from './helpers.js';

const rejects = (text: string, pattern: RegExp) =>
  assert.throws(() => parseNm(text), (e: unknown) => e instanceof ArgumentError && pattern.test((e as Error).message), `'${text}'`);

describe('N:M patterns', () => {
  it("parses 'N:M' as N kept in every M", () => {
    assert.deepEqual(parseNm('2:4'), { n: 2, m: 4 });
    assert.deepEqual(parseNm(' 1 : 16 '), { n: 1, m: 16 });
    assert.deepEqual(parseNm('255:256'), { n: 255, m: 256 });
    assert.equal(formatNm({ n: 2, m: 4 }), '2:4');
    assert.equal(nmSparsity(parseNm('2:4')), 0.5);
    assert.equal(nmSparsity(parseNm('1:4')), 0.75);
  });

  it('rejects N >= M, N = 0, M = 0, M > 256 and text that is not N:M, saying why', () => {
    rejects('4:2', /'4:2'.*N must be smaller than M/);
    rejects('4:4', /N must be smaller than M/);
    rejects('0:4', /'0:4'.*N must be at least 1/);
    rejects('2:0', /'2:0'.*M must be between 2 and 256/);
    rejects('1:300', /M must be between 2 and 256/);
    rejects('x', /'x' is not an N:M pattern/);
    rejects('', /not an N:M pattern/);
    rejects('2:4:8', /not an N:M pattern/);
    rejects('2/4', /not an N:M pattern/);
    rejects('-1:4', /not an N:M pattern/);
    rejects('1.5:4', /not an N:M pattern/);
    assert.throws(() => formatNm({ n: 3, m: 2 }), ArgumentError);
  });

  it('formatNm and parseNm are inverse over every valid pattern', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 256 }).chain((m) => fc.tuple(fc.integer({ min: 1, max: m - 1 }), fc.constant(m))), ([n, m]) => {
        assert.deepEqual(parseNm(formatNm({ n, m })), { n, m });
      }),
      FC,
    );
  });

  it('picks 2, 4 or 8 bits per index and byte-aligned rows', () => {
    assert.deepEqual([2, 3, 4, 5, 16, 17, 256].map(bitsPerIndexFor), [2, 2, 2, 4, 4, 8, 8]);
    assert.throws(() => bitsPerIndexFor(257), ArgumentError);
    assert.equal(nmIndexRowBytes(8, 2, 4), 1);
    assert.equal(nmIndexRowBytes(4, 1, 4), 1);
    assert.equal(nmIndexRowBytes(12, 2, 4), 2);
    assert.equal(nmIndexRowBytes(32, 2, 32), 2);
  });

  it('packs and unpacks indices least significant bits first', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4, 8).chain((bits) => fc.tuple(fc.constant(bits), fc.array(fc.integer({ min: 0, max: (1 << bits) - 1 }), { maxLength: 40 }))),
        ([bits, positions]) => {
          const bytes = new Uint8Array(Math.ceil((positions.length * bits) / 8) + 1);
          positions.forEach((p, k) => writePackedIndex(bytes, 1, k, bits, p));
          assert.equal(bytes[0], 0, 'writes start at the row offset');
          assert.deepEqual(positions.map((_, k) => readPackedIndex(bytes, 1, k, bits)), positions);
          let bigEnd = 0n;
          for (let i = bytes.length - 1; i >= 1; i--) bigEnd = (bigEnd << 8n) | BigInt(bytes[i]);
          positions.forEach((p, k) => assert.equal(Number((bigEnd >> BigInt(k * bits)) & BigInt((1 << bits) - 1)), p));
        },
      ),
      FC,
    );
  });
});
