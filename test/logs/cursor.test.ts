import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { poly1305 } from '@noble/ciphers/_poly1305';
import fc from 'fast-check';
import { CursorCodec, CursorError, type CursorState } from '../../src/logs/cursor.ts';
import { MAX_USER_FIELD_LENGTH } from '../../src/logs/entry.ts';

const SECRET = 'a signing secret for tests';

/**
 * Opens a cursor without the codec, as its comment says it is sealed: the text is the position
 * (a CTR counter block), the ciphertext and a Poly1305 tag; the first 32 bytes of keystream
 * from the position key the tag, the rest encrypt the payload.
 */
function openByHand(text: string): string {
  const key = createHash('sha256').update('logwarden cursor v2\0').update(SECRET).digest();
  const raw = Buffer.from(text, 'base64url');
  const body = raw.subarray(16, raw.length - 16);
  const stream = createCipheriv('aes-256-ctr', key, raw.subarray(0, 16)).update(Buffer.alloc(32 + body.length));
  assert.deepEqual(Buffer.from(poly1305(raw.subarray(0, raw.length - 16), stream.subarray(0, 32))), raw.subarray(raw.length - 16));
  return Buffer.from(body.map((b, i) => b ^ stream[32 + i]!)).toString('utf8');
}

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

  it('is sealed as documented: AES-256-CTR from the position it names, a Poly1305 tag keyed by the 32 bytes before the payload', () => {
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
      // The Poly1305 key's 32 bytes, then the payload's (the text less its position and tag).
      const blocks = Math.ceil((32 + (raw.length - 32)) / 16);
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

  it('resumes a cursor made by an earlier version (sealed with AES-GCM, some with a storage hint) where it was', () => {
    // The fifteen fields such cursors carried (the last a hint about runs of equal times),
    // sealed as earlier versions sealed them (AES-256-GCM, the IV and tag before the body).
    const key = createHash('sha256').update('logwarden cursor v1\0').update(SECRET).digest();
    const fields = [
      1,
      state.tenantId,
      state.logType,
      state.from.ms,
      '',
      state.to!.ms,
      '5',
      100,
      98_765,
      state.afterTimeMs,
      4321,
      3,
      12_345,
      state.expiresMs,
    ];
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
