/**
 * Paging cursors: opaque (encrypted with AES-256) and tamper-proof (a Poly1305 tag), bound to a
 * tenant and a query, with an expiry. A cursor carries everything a later page needs — the
 * snapshot watermark, the position after the last entry, the page number and the total —
 * so no page after the first ever counts again.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305';
import { MAX_USER_FIELD_LENGTH, type UserMatch } from './entry.ts';

export interface CursorState {
  readonly tenantId: string;
  readonly logType: string;
  /** The query bounds exactly as given, to check that a request repeats them. */
  readonly from: { readonly ms: number; readonly sub: string };
  readonly to: { readonly ms: number; readonly sub: string } | null;
  readonly limit: number;
  /** The user filter (an extension); null or absent without one. */
  readonly user?: UserMatch | null;
  readonly watermark: number;
  readonly afterTimeMs: number;
  readonly afterSeq: number;
  /** The number of the page this cursor fetches. */
  readonly page: number;
  readonly total: number;
  /** Expiry, ms since the epoch. */
  readonly expiresMs: number;
}

const VERSION = 1;

/**
 * How a cursor is sealed. Its payload is XORed with AES-256-CTR keystream from the position it
 * names, and a Poly1305 tag over the position and the ciphertext is keyed by 32 bytes that
 * another key makes from that position (AES-256-CTR under the tag key, from the counter block
 * of the position's nonce and twice its block index). The keystream is made in bulk, one
 * cipher call per pool of POOL_BLOCKS blocks under a random 12-byte nonce (a pool is 256 KiB,
 * so a block index never carries into the nonce), the tag keys of the pool's positions with
 * it; each cursor takes blocks that no other cursor ever takes, so each tag key is used once.
 * A client chooses the position of what it sends: were the tag key keystream (as in
 * ChaCha20-Poly1305, where the nonce is not the client's), a client that knows the text of a
 * cursor of its own (its user filter, say) would know the tag keys of the positions inside it,
 * and could seal any payload. In the server, sealing with a cipher made for every cursor
 * (AES-GCM, as cursors were sealed before) cost a page about 26 µs more than not sealing at
 * all, and sealing from a pool about 17 (docs/benchmarks.md). A cursor's text is the position
 * (the pool's nonce and the first block's index: the CTR counter block, 16 bytes), the
 * ciphertext and the tag (16), in base64url.
 */
const POSITION_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const TAG_KEY_BYTES = 32;
const BLOCK = 16;
const POOL_BLOCKS = 16_384;

/** What sealing a cursor takes from a pool: keystream for its payload, and its tag's key. */
interface Sealing {
  readonly stream: Buffer;
  readonly tagKey: Buffer;
}

/** One pool of keystream, handed out block by block, never twice, and the tag keys of its positions. */
class KeystreamPool {
  private nonce = Buffer.alloc(NONCE_BYTES);
  private stream: Buffer = Buffer.alloc(0);
  private tagKeys: Buffer = Buffer.alloc(0);
  private next = POOL_BLOCKS;

  constructor(
    private readonly key: Buffer,
    private readonly tagKey: Buffer,
  ) {}

  /** Writes the position taken into `position` and returns `bytes` bytes of keystream from it, with the position's tag key. */
  take(bytes: number, position: Buffer): Sealing {
    const blocks = Math.ceil(bytes / BLOCK);
    if (blocks > POOL_BLOCKS) throw new RangeError('cursor payload too long');
    if (this.next + blocks > POOL_BLOCKS) {
      this.nonce = randomBytes(NONCE_BYTES);
      const start = Buffer.alloc(POSITION_BYTES);
      this.nonce.copy(start);
      this.stream = keystreamAt(this.key, start, POOL_BLOCKS * BLOCK);
      // Position i's tag key is the 32 bytes from counter block 2i: the whole pool's, at once.
      this.tagKeys = keystreamAt(this.tagKey, start, POOL_BLOCKS * TAG_KEY_BYTES);
      this.next = 0;
    }
    this.nonce.copy(position, 0);
    position.writeUInt32BE(this.next, NONCE_BYTES);
    const at = this.next * BLOCK;
    const tagAt = this.next * TAG_KEY_BYTES;
    this.next += blocks;
    return { stream: this.stream.subarray(at, at + bytes), tagKey: this.tagKeys.subarray(tagAt, tagAt + TAG_KEY_BYTES) };
  }
}

/** `bytes` bytes of keystream from a position (the block index never carries into the nonce). */
const keystreamAt = (key: Buffer, position: Uint8Array, bytes: number): Buffer =>
  createCipheriv('aes-256-ctr', key, position.subarray(0, POSITION_BYTES)).update(Buffer.alloc(bytes));

/** The tag key of a position, as a pool makes it: from the counter block of its nonce and twice its block index. */
function tagKeyOf(tagKey: Buffer, position: Buffer): Buffer {
  const start = Buffer.alloc(POSITION_BYTES);
  position.copy(start, 0, 0, NONCE_BYTES);
  start.writeUInt32BE(2 * position.readUInt32BE(NONCE_BYTES), NONCE_BYTES);
  return keystreamAt(tagKey, start, TAG_KEY_BYTES);
}

/** The tag of a sealed cursor: Poly1305 over all before it, its position and ciphertext. */
const tagOf = (macKey: Uint8Array, sealed: Uint8Array): Uint8Array =>
  poly1305
    .create(macKey)
    .update(sealed.subarray(0, sealed.length - TAG_BYTES))
    .digest();

/**
 * The longest cursor `encode` makes, which `decode` must take: a user filter of up to
 * MAX_USER_FIELD_LENGTH UTF-16 units, each spelled by JSON in at most 6 bytes (`\u0001`, a lone
 * surrogate; `中` takes 3), the other fields well under 1 KiB, sealed behind the position and
 * the tag, in base64url. A filter of 1024 control characters makes a cursor of about 8,400 characters.
 */
const MAX_CURSOR_LENGTH = Math.ceil(((POSITION_BYTES + TAG_BYTES + 1024 + 6 * MAX_USER_FIELD_LENGTH) * 4) / 3);

export class CursorError extends Error {}

/**
 * A cursor sealed by the versions that keyed its tag with keystream (see POSITION_BYTES): no
 * longer taken, since anyone could seal one, but named as such so that a client paging across
 * an upgrade hears why.
 */
export class RetiredCursorError extends CursorError {}

/** The most characters a number of a cursor takes (a safe integer, its sign included). */
const NUMBER_WIDTH = String(Number.MIN_SAFE_INTEGER).length;

/**
 * Spaces after the payload (JSON allows them) that make its length the same whatever its
 * numbers: a sealed cursor is as long as what it seals, and the digits of the store-wide
 * sequence numbers it carries (the watermark, the position) would tell a tenant, from its own
 * cursors, about how much every other tenant has logged.
 */
function numberPadding(fields: readonly unknown[]): number {
  let pad = 0;
  for (const f of fields) if (typeof f === 'number') pad += Math.max(0, NUMBER_WIDTH - String(f).length);
  return pad;
}

/**
 * How many cursors a codec remembers having issued, and the longest it remembers (a cursor
 * with a long user filter is decrypted each time): a few megabytes at most.
 */
const ISSUED_KEPT = 4096;
const ISSUED_MAX_LENGTH = 400;

/**
 * A bounded set of recent texts and what each stands for, dropping first those not asked for
 * since they were last passed over (the clock, or second-chance, approximation of least
 * recently used: a lookup only sets a bit).
 */
class RecentTexts<V> {
  private readonly slotOf = new Map<string, number>();
  private readonly texts: (string | undefined)[];
  private readonly values: (V | undefined)[];
  private readonly asked: Uint8Array;
  private hand = 0;

  constructor(private readonly size: number) {
    this.texts = new Array<string | undefined>(size).fill(undefined);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.asked = new Uint8Array(size);
  }

  get(text: string): V | undefined {
    const slot = this.slotOf.get(text);
    if (slot === undefined) return undefined;
    this.asked[slot] = 1;
    return this.values[slot];
  }

  add(text: string, value: V): void {
    if (this.slotOf.has(text)) return;
    while (this.asked[this.hand] === 1) {
      this.asked[this.hand] = 0;
      this.hand = (this.hand + 1) % this.size;
    }
    const old = this.texts[this.hand];
    if (old !== undefined) this.slotOf.delete(old);
    this.texts[this.hand] = text;
    this.values[this.hand] = value;
    this.slotOf.set(text, this.hand);
    this.hand = (this.hand + 1) % this.size;
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number';

/**
 * Whether a cursor's fields (the plaintext, parsed) have the types `encode` writes: its tag
 * says the server sealed them, and this that no version sealed them otherwise.
 */
function wellTyped(a: readonly unknown[]): boolean {
  if (typeof a[1] !== 'string' || typeof a[2] !== 'string' || !isNumber(a[3]) || typeof a[4] !== 'string') return false;
  if (a[5] === null ? a[6] !== null : !isNumber(a[5]) || typeof a[6] !== 'string') return false;
  for (let i = 7; i <= 13; i++) if (!isNumber(a[i])) return false;
  return true;
}

/** The state a cursor's fields (the plaintext, parsed) stand for. */
function stateOf(a: readonly unknown[], user: UserMatch | null): CursorState {
  return {
    tenantId: a[1] as string,
    logType: a[2] as string,
    from: { ms: a[3] as number, sub: a[4] as string },
    to: a[5] === null ? null : { ms: a[5] as number, sub: a[6] as string },
    limit: a[7] as number,
    user,
    watermark: a[8] as number,
    afterTimeMs: a[9] as number,
    afterSeq: a[10] as number,
    page: a[11] as number,
    total: a[12] as number,
    expiresMs: a[13] as number,
  };
}

/**
 * Encodes and decodes cursors with a key derived from the server's signing secret.
 *
 * A codec remembers the cursors it issued lately, by their exact text: the next page of a
 * client paging on (or a retry) usually comes back to the process that issued its cursor, and
 * is then resumed without decrypting, which was about a tenth of the cost of serving a page.
 * Only text this codec made is found there; anything else is decrypted and checked as always.
 */
export class CursorCodec {
  private readonly key: Buffer;
  private readonly tagKey: Buffer;
  /** The key of cursors sealed with AES-GCM by earlier versions, which still resume. */
  private readonly gcmKey: Buffer;
  /** The key of the retired cursors (RetiredCursorError), only to recognise them. */
  private readonly retiredKey: Buffer;
  private readonly keystream: KeystreamPool;
  /** Cursors issued lately. */
  private readonly issued = new RecentTexts<CursorState>(ISSUED_KEPT);

  constructor(secret: string) {
    const derive = (label: string) => createHash('sha256').update(label).update(secret).digest();
    this.key = derive('logwarden cursor v3\0');
    this.tagKey = derive('logwarden cursor v3 tag\0');
    this.gcmKey = derive('logwarden cursor v1\0');
    this.retiredKey = derive('logwarden cursor v2\0');
    this.keystream = new KeystreamPool(this.key, this.tagKey);
  }

  encode(state: CursorState): string {
    const fields: unknown[] = [
      VERSION,
      state.tenantId,
      state.logType,
      state.from.ms,
      state.from.sub,
      state.to ? state.to.ms : null,
      state.to ? state.to.sub : null,
      state.limit,
      state.watermark,
      state.afterTimeMs,
      state.afterSeq,
      state.page,
      state.total,
      state.expiresMs,
    ];
    // A user filter follows the fields every cursor has (after the place of an old storage
    // hint, always null here), so a cursor without one is exactly what it was before.
    if (state.user) fields.push(null, state.user.field, state.user.value);
    // Remembered only when decoding its text would give exactly these fields back: strings,
    // nulls and safe integers (zero without a sign, as JSON writes it).
    let exact = true;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (typeof f === 'number') {
        if (Number.isSafeInteger(f)) fields[i] = f + 0;
        else exact = false;
      } else if (f !== null && typeof f !== 'string') exact = false;
    }
    const payload = Buffer.from(JSON.stringify(fields) + ' '.repeat(numberPadding(fields)));
    const sealed = Buffer.allocUnsafe(POSITION_BYTES + TAG_BYTES + payload.length);
    const { stream, tagKey } = this.keystream.take(payload.length, sealed);
    for (let i = 0; i < payload.length; i++) sealed[POSITION_BYTES + i] = payload[i]! ^ stream[i]!;
    sealed.set(tagOf(tagKey, sealed), POSITION_BYTES + payload.length);
    const text = sealed.toString('base64url');
    if (exact && text.length <= ISSUED_MAX_LENGTH) {
      this.issued.add(text, stateOf(fields, state.user ? { field: state.user.field, value: state.user.value } : null));
    }
    return text;
  }

  /** Decodes a cursor; throws CursorError when it is malformed or was not made with this key. */
  decode(text: string): CursorState {
    const issued = this.issued.get(text);
    if (issued !== undefined) return issued;
    if (text.length < 40 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw new CursorError('malformed');
    const raw = Buffer.from(text, 'base64url');
    const plain = this.open(raw) ?? this.openGcm(raw);
    if (plain === null) throw this.isRetired(raw) ? new RetiredCursorError('retired') : new CursorError('tampered');
    const a = JSON.parse(plain.toString('utf8')) as unknown[];
    // Cursors made by earlier versions carried a 15th field, a hint for the storage of the
    // time; they still resume exactly where they were, the hint ignored. A user filter adds
    // three fields (see encode).
    if (!Array.isArray(a) || a[0] !== VERSION || (a.length !== 14 && a.length !== 15 && a.length !== 17)) throw new CursorError('unknown version');
    const field = a[15];
    const user: UserMatch | null =
      a.length === 17 && (field === 'userId' || field === 'userEmailAddress') && typeof a[16] === 'string' ? { field, value: a[16] } : null;
    if ((a.length === 17 && user === null) || !wellTyped(a)) throw new CursorError('malformed');
    return stateOf(a, user);
  }

  /** The payload of a cursor sealed by `encode`, or null when its tag is not this key's. */
  private open(raw: Buffer): Buffer | null {
    if (raw.length < POSITION_BYTES + TAG_BYTES) return null;
    const body = raw.subarray(POSITION_BYTES, raw.length - TAG_BYTES);
    // A position no pool hands out (its blocks would run past the pool's end) is no cursor's.
    if (raw.readUInt32BE(NONCE_BYTES) + Math.ceil(body.length / BLOCK) > POOL_BLOCKS) return null;
    const tag = tagOf(tagKeyOf(this.tagKey, raw), raw);
    if (!timingSafeEqual(tag, raw.subarray(raw.length - TAG_BYTES))) return null;
    const stream = keystreamAt(this.key, raw, body.length);
    for (let i = 0; i < body.length; i++) stream[i] = stream[i]! ^ body[i]!;
    return stream;
  }

  /** Whether a cursor was sealed by the retired versions: its tag keyed by the 32 bytes of keystream before its payload. */
  private isRetired(raw: Buffer): boolean {
    if (raw.length < POSITION_BYTES + TAG_BYTES) return false;
    const tag = tagOf(keystreamAt(this.retiredKey, raw, TAG_KEY_BYTES), raw);
    return timingSafeEqual(tag, raw.subarray(raw.length - TAG_BYTES));
  }

  /** The payload of a cursor sealed with AES-GCM by an earlier version, or null. */
  private openGcm(raw: Buffer): Buffer | null {
    const decipher = createDecipheriv('aes-256-gcm', this.gcmKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    } catch {
      return null;
    }
  }
}
