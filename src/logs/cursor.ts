/**
 * Paging cursors: opaque (AES-256-GCM encrypted) and tamper-proof (the GCM tag), bound to a
 * tenant and a query, with an expiry. A cursor carries everything a later page needs — the
 * snapshot watermark, the position after the last entry, the page number and the total —
 * so no page after the first ever counts again.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
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
 * Random IVs drawn from a pool refilled in bulk: one call for the random source per 4096
 * cursors instead of one per cursor, which showed in the cost of serving a page.
 */
const IV_BYTES = 12;
let ivPool = Buffer.alloc(0);
let ivAt = 0;
function nextIv(): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * 4096);
    ivAt = 0;
  }
  ivAt += IV_BYTES;
  return ivPool.subarray(ivAt - IV_BYTES, ivAt);
}

/**
 * The longest cursor `encode` makes, which `decode` must take: a user filter of up to
 * MAX_USER_FIELD_LENGTH UTF-16 units, each spelled by JSON in at most 6 bytes (`\u0001`, a lone
 * surrogate; `中` takes 3), the other fields well under 1 KiB, sealed behind the IV and the GCM
 * tag, in base64url. A filter of 1024 control characters makes a cursor of about 8,400 characters.
 */
const MAX_CURSOR_LENGTH = Math.ceil(((IV_BYTES + 16 + 1024 + 6 * MAX_USER_FIELD_LENGTH) * 4) / 3);

export class CursorError extends Error {}

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
  /** Cursors issued lately. */
  private readonly issued = new RecentTexts<CursorState>(ISSUED_KEPT);

  constructor(secret: string) {
    this.key = createHash('sha256').update('logwarden cursor v1\0').update(secret).digest();
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
    const iv = nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(payload), cipher.final()]);
    const text = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
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
    const iv = raw.subarray(0, 12);
    const tag = raw.subarray(12, 28);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    } catch {
      throw new CursorError('tampered');
    }
    const a = JSON.parse(plain.toString('utf8')) as unknown[];
    // Cursors made by earlier versions carried a 15th field, a hint for the storage of the
    // time; they still resume exactly where they were, the hint ignored. A user filter adds
    // three fields (see encode).
    if (!Array.isArray(a) || a[0] !== VERSION || (a.length !== 14 && a.length !== 15 && a.length !== 17)) throw new CursorError('unknown version');
    const field = a[15];
    const user: UserMatch | null =
      a.length === 17 && (field === 'userId' || field === 'userEmailAddress') && typeof a[16] === 'string' ? { field, value: a[16] } : null;
    if (a.length === 17 && user === null) throw new CursorError('malformed');
    return stateOf(a, user);
  }
}
