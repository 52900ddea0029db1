import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { poly1305 } from '@noble/ciphers/_poly1305';
import fc from 'fast-check';
import { CursorCodec, CursorError, type CursorState, RetiredCursorError } from '../../src/logs/cursor.ts';
import { MAX_USER_FIELD_LENGTH } from '../../src/logs/entry.ts';
import { cursorFields, sealRetiredCursor } from '../support/retired-cursor.ts';

const SECRET = 'a signing secret for tests';

const keyOf = (label: string) => createHash('sha256').update(label).update(SECRET).digest();
const keystream = (key: Buffer, position: Buffer, bytes: number) => createCipheriv('aes-256-ctr', key, position).update(Buffer.alloc(bytes));

/** The tag key of a position, as the codec's comment says: the tag key's keystream from the nonce and twice the block index. */
function tagKeyByHand(position: Buffer): Buffer {
  const start = Buffer.from(position.subarray(0, 16));
  start.writeUInt32BE((2 * position.readUInt32BE(12)) % 2 ** 32, 12);
  return keystream(keyOf('logwarden cursor v3 tag\0'), start, 32);
}

/**
 * Opens a cursor without the codec, as its comment says it is sealed: the text is the position
 * (a CTR counter block), the ciphertext and a Poly1305 tag; the keystream from the position
 * encrypts the payload, and the tag's key is made from the position under another key.
 */
function openByHand(text: string): string {
  const raw = Buffer.from(text, 'base64url');
  const body = raw.subarray(16, raw.length - 16);
  const stream = keystream(keyOf('logwarden cursor v3\0'), raw.subarray(0, 16), body.length);
  assert.deepEqual(Buffer.from(poly1305(raw.subarray(0, raw.length - 16), tagKeyByHand(raw))), raw.subarray(raw.length - 16));
  return Buffer.from(body.map((b, i) => b ^ stream[i]!)).toString('utf8');
}

/** Seals a payload as the codec does, at a position of the caller's choosing (to make what `encode` never would). */
function sealByHand(payload: string, position: Buffer): string {
  const body = Buffer.from(payload);
  const stream = keystream(keyOf('logwarden cursor v3\0'), position, body.length);
  const sealed = Buffer.concat([position, Buffer.from(body.map((b, i) => b ^ stream[i]!))]);
  return Buffer.concat([sealed, poly1305(sealed, tagKeyByHand(position))]).toString('base64url');
}

/** Poly1305 over a position and ciphertext, keyed by `key`, appended. */
const tagged = (sealed: Buffer, key: Uint8Array) => Buffer.concat([sealed, poly1305(sealed, key)]).toString('base64url');

const state: CursorState = {
  tenantId: '1234567890123456789',
  logType: 'AccessLog',
  from: { ms: Date.UTC(2025, 0, 1), sub: '' },
  to: { ms: Date.UTC(2025, 1, 1), sub: '5' },
  limit: 100,
  user: null,
  watermark: 98_765,
  afterTimeMs: Date.UTC(2025, 0, 15),
  afterSeq: 4321,
  page: 3,
  total: 12_345,
  expiresMs: Date.UTC(2030, 0, 1),
};

/** `state`'s fields as a cursor's payload holds them. */
const STATE_FIELDS: readonly unknown[] = cursorFields(state);

describe('cursor codec', () => {
  it('returns what it was given, with or without an upper bound', () => {
    const codec = new CursorCodec(SECRET);
    for (const s of [state, { ...state, to: null }]) assert.deepEqual(codec.decode(codec.encode(s)), s);
  });

  it("is as long whatever its numbers are, so the store's sequence numbers do not show in its length", () => {
    const codec = new CursorCodec(SECRET);
    const lengths = new Set<number>();
    for (const n of [0, 7, 98_765, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      for (const s of [
        { ...state, watermark: n, afterSeq: n },
        { ...state, watermark: n, afterSeq: 3, total: n, page: n % 1000 },
        { ...state, afterTimeMs: -n - 1, watermark: n },
      ]) {
        const cursor = codec.encode(s);
        assert.deepEqual(codec.decode(cursor), s);
        lengths.add(cursor.length);
      }
    }
    assert.equal(lengths.size, 1, `lengths seen: ${[...lengths].join(', ')}`);
    // A user filter adds only its own text.
    const user = { field: 'userId', value: '42' } as const;
    assert.equal(codec.encode({ ...state, user, watermark: 1 }).length, codec.encode({ ...state, user, watermark: 2 ** 50 }).length);
  });

  it('carries a user filter, and a cursor without one has the fields it always had', () => {
    const codec = new CursorCodec(SECRET);
    for (const user of [
      { field: 'userId', value: '42' },
      { field: 'userEmailAddress', value: 'a"b\\@example.com' },
    ] as const) {
      assert.deepEqual(codec.decode(codec.encode({ ...state, user })), { ...state, user });
    }
    // Fourteen fields without a filter, as before the filter existed.
    assert.equal((JSON.parse(openByHand(codec.encode(state))) as unknown[]).length, 14);
  });

  it('is sealed as documented: AES-256-CTR from the position it names, a Poly1305 tag keyed from the position under another key', () => {
    const codec = new CursorCodec(SECRET);
    for (const s of [state, { ...state, user: { field: 'userId', value: 'x'.repeat(3000) } as const }]) {
      const text = codec.encode(s);
      assert.deepEqual(JSON.parse(openByHand(text)), JSON.parse(openByHand(new CursorCodec(SECRET).encode(s))));
      assert.equal(JSON.parse(openByHand(text))[1], s.tenantId);
    }
  });

  it('never hands out the same keystream twice, across pools, and every cursor opens in a codec of its own (another process)', () => {
    const codec = new CursorCodec(SECRET);
    const taken = new Map<string, Array<[number, number]>>();
    const users = [null, { field: 'userEmailAddress', value: 'é'.repeat(1000) } as const];
    for (let i = 0; i < 4000; i++) {
      const s = { ...state, page: i, user: users[i % 37 === 0 ? 1 : 0] };
      const text = codec.encode(s);
      const raw = Buffer.from(text, 'base64url');
      const nonce = raw.subarray(0, 12).toString('hex');
      const first = raw.readUInt32BE(12);
      // The payload's keystream (the text less its position and tag).
      const blocks = Math.ceil((raw.length - 32) / 16);
      const ranges = taken.get(nonce) ?? [];
      for (const [a, b] of ranges)
        assert.ok(first >= b || first + blocks <= a, `cursor ${i} takes blocks ${first}+${blocks}, already taken ${a}-${b}`);
      ranges.push([first, first + blocks]);
      taken.set(nonce, ranges);
      if (i % 13 === 0) assert.deepEqual(new CursorCodec(SECRET).decode(text), s);
    }
    assert.ok(taken.size >= 3, `pools used: ${taken.size}`);
  });

  it('refuses a cursor with any one byte changed: its position, its ciphertext or its tag', () => {
    const text = new CursorCodec(SECRET).encode(state);
    const raw = Buffer.from(text, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const changed = Buffer.from(raw);
      changed[i]! ^= 1 << (i % 8);
      assert.throws(() => new CursorCodec(SECRET).decode(changed.toString('base64url')), CursorError, `byte ${i}`);
    }
    assert.throws(() => new CursorCodec(SECRET).decode(raw.subarray(0, raw.length - 1).toString('base64url')), CursorError);
  });

  it('refuses a cursor sealed with any keystream a cursor of its own showed as its tag key: a client knows the text of its cursors', () => {
    const codec = new CursorCodec(SECRET);
    // A cursor whose text a client knows whole: its own query, a filter of its choosing, the
    // numbers guessed (here: known); all its keystream follows from its ciphertext.
    const s = { ...state, user: { field: 'userId', value: 'a'.repeat(1000) } } as const;
    const raw = Buffer.from(codec.encode(s), 'base64url');
    const body = raw.subarray(16, raw.length - 16);
    const json = JSON.stringify([
      1,
      s.tenantId,
      s.logType,
      s.from.ms,
      s.from.sub,
      s.to!.ms,
      s.to!.sub,
      s.limit,
      s.watermark,
      s.afterTimeMs,
      s.afterSeq,
      s.page,
      s.total,
      s.expiresMs,
      null,
      'userId',
      s.user.value,
    ]);
    const known = Buffer.from(body.map((b, i) => b ^ Buffer.from(json.padEnd(body.length))[i]!));
    assert.deepEqual(JSON.parse(openByHand(raw.toString('base64url'))), JSON.parse(json));
    // What a forger would seal: a page of five million entries.
    const forged = Buffer.from(JSON.stringify([1, s.tenantId, s.logType, 0, '', null, null, 5_000_000, 2 ** 40, 0, 0, 0, 1, s.expiresMs]));
    const blocks = Math.ceil(known.length / 16);
    const forgedBlocks = Math.ceil(forged.length / 16);
    let tries = 0;
    // Every position inside the cursor's keystream, its payload encrypted from there or 32 bytes
    // on; as the tag key, each 32 bytes of that keystream that begin from four blocks before
    // the position to two after (where a construction would take it: the retired one took the
    // two blocks before the payload's).
    for (let at = 0; at + forgedBlocks <= blocks; at++) {
      for (const skip of [0, 32]) {
        if (16 * at + skip + forged.length > known.length) continue;
        const position = Buffer.from(raw.subarray(0, 16));
        position.writeUInt32BE(raw.readUInt32BE(12) + at, 12);
        const sealed = Buffer.concat([position, Buffer.from(forged.map((b, i) => b ^ known[16 * at + skip + i]!))]);
        for (let k = Math.max(0, at - 4); k <= at + 2 && 16 * k + 32 <= known.length; k++) {
          assert.throws(
            () => codec.decode(tagged(sealed, known.subarray(16 * k, 16 * k + 32))),
            CursorError,
            `position +${at}, payload +${skip}, tag key at block ${k}`,
          );
          tries++;
        }
      }
    }
    assert.ok(tries > 700, `forgeries tried: ${tries}`);
  });

  it('refuses what its key sealed but no version wrote: a position past a pool, a field of another type', () => {
    const codec = new CursorCodec(SECRET);
    const fields = STATE_FIELDS;
    const at = (blockIndex: number) => {
      const position = randomBytes(16);
      position.writeUInt32BE(blockIndex, 12);
      return position;
    };
    assert.deepEqual(codec.decode(sealByHand(JSON.stringify(fields), at(0))), state);
    // A pool has 16,384 blocks: a payload of 14 blocks (over 208 bytes) starts at 16,370 at the latest.
    const long = JSON.stringify(fields).padEnd(220);
    assert.deepEqual(codec.decode(sealByHand(long, at(16_384 - 14))), state);
    for (const blockIndex of [16_384 - 13, 16_384, 2 ** 31, 2 ** 32 - 1])
      assert.throws(() => codec.decode(sealByHand(long, at(blockIndex))), CursorError, `block ${blockIndex}`);
    const changed: Array<[number, unknown]> = [
      [1, 1234],
      [2, null],
      [3, '1735689600000'],
      [4, 0],
      [5, null],
      [6, null],
      [7, '100'],
      [8, null],
      [11, true],
      [13, null],
    ];
    for (const [i, value] of changed) {
      // [5, null] leaves an upper bound's fraction without the bound; [6, null] a bound without its fraction.
      const altered = fields.map((f, j) => (j === i ? value : f));
      assert.throws(() => codec.decode(sealByHand(JSON.stringify(altered), at(7))), CursorError, `field ${i} as ${JSON.stringify(value)}`);
    }
    // Both null: no upper bound, as sealed for a query without one.
    assert.deepEqual(codec.decode(sealByHand(JSON.stringify(fields.map((f, j) => (j === 5 || j === 6 ? null : f))), at(7))), { ...state, to: null });
  });

  it('says a cursor of the retired construction (its tag keyed by the keystream before its payload) is one, and takes it no more', () => {
    // Sealed as the versions before this one sealed cursors.
    const retired = sealRetiredCursor(SECRET, STATE_FIELDS, 40);
    assert.throws(() => new CursorCodec(SECRET).decode(retired), RetiredCursorError);
    // Under another secret it is no cursor of this server's at all.
    assert.throws(
      () => new CursorCodec('another secret').decode(retired),
      (err) => err instanceof CursorError && !(err instanceof RetiredCursorError),
    );
  });

  it('resumes a cursor made by an earlier version (sealed with AES-GCM, some with a storage hint) where it was', () => {
    // The fifteen fields such cursors carried (the last a hint about runs of equal times),
    // sealed as earlier versions sealed them (AES-256-GCM, the IV and tag before the body).
    const key = createHash('sha256').update('logwarden cursor v1\0').update(SECRET).digest();
    const fields = STATE_FIELDS;
    for (const old of [fields, [...fields, true], [...fields, false]]) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(old)), cipher.final()]);
      const text = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
      assert.deepEqual(new CursorCodec(SECRET).decode(text), state);
    }
  });

  it('decodes every cursor it encodes: the longest user filter the API takes, in characters JSON spells with the most bytes', () => {
    const codec = new CursorCodec(SECRET);
    // The widest other fields too: a 20-digit tenant, a 64-character extra log type, the
    // earliest instant with 60 fraction digits, the largest numbers.
    const widest: CursorState = {
      ...state,
      tenantId: '9'.repeat(20),
      logType: `X${'y'.repeat(63)}`,
      from: { ms: -62_167_219_200_000, sub: '9'.repeat(60) },
      to: { ms: 253_402_300_799_999, sub: '9'.repeat(60) },
      watermark: Number.MAX_SAFE_INTEGER,
      afterTimeMs: 253_402_300_799_999,
      afterSeq: Number.MAX_SAFE_INTEGER,
      page: Number.MAX_SAFE_INTEGER,
      total: Number.MAX_SAFE_INTEGER,
      expiresMs: Number.MAX_SAFE_INTEGER,
    };
    for (const unit of ['中', '\u0001', '\ud800', '"', '😀', 'a']) {
      const value = unit.repeat(Math.floor(MAX_USER_FIELD_LENGTH / unit.length));
      for (const field of ['userId', 'userEmailAddress'] as const) {
        const s = { ...widest, user: { field, value } };
        assert.deepEqual(codec.decode(codec.encode(s)), s, `${field} of ${value.length} × ${JSON.stringify(unit)}`);
      }
    }
  });

  it('refuses a cursor sealed with another secret, or altered', () => {
    const text = new CursorCodec(SECRET).encode(state);
    assert.throws(() => new CursorCodec('another secret').decode(text), CursorError);
    const flipped = text.slice(0, 40) + (text[40] === 'A' ? 'B' : 'A') + text.slice(41);
    assert.throws(() => new CursorCodec(SECRET).decode(flipped), CursorError);
  });

  it('resumes a cursor it issued exactly as decrypting it would, and still decrypts what it did not issue', () => {
    const int = fc.maxSafeInteger().map((n) => (n === 0 ? -0 : n));
    const states = fc.record({
      tenantId: fc.string(),
      logType: fc.string(),
      from: fc.record({ ms: int, sub: fc.string() }),
      to: fc.option(fc.record({ ms: int, sub: fc.string() })),
      limit: int,
      user: fc.option(fc.record({ field: fc.constantFrom('userId' as const, 'userEmailAddress' as const), value: fc.string() }), { nil: undefined }),
      watermark: int,
      afterTimeMs: int,
      afterSeq: int,
      page: int,
      total: int,
      expiresMs: int,
    });
    const codec = new CursorCodec(SECRET);
    fc.assert(
      fc.property(states, (s) => {
        const text = codec.encode(s);
        const decrypted = new CursorCodec(SECRET).decode(text);
        assert.deepEqual(codec.decode(text), decrypted);
        assert.deepEqual(codec.decode(text), decrypted);
      }),
      { numRuns: 2000 },
    );
    // Thousands of cursors later, the first one is decrypted again, still the same; one asked
    // for all along, and each of those issued, resume as they were made.
    const first = codec.encode(state);
    const asked = codec.encode({ ...state, page: -1 });
    for (let i = 0; i < 10_000; i++) {
      const text = codec.encode({ ...state, page: i });
      if (i % 100 === 0) assert.deepEqual(codec.decode(asked), { ...state, page: -1 });
      if (i % 7 === 0) assert.deepEqual(codec.decode(text), { ...state, page: i });
    }
    assert.deepEqual(codec.decode(first), state);
    assert.throws(() => codec.decode(first.slice(0, 40) + (first[40] === 'A' ? 'B' : 'A') + first.slice(41)), CursorError);
  });
});
