/**
 * The formats the integrity badge checks, over WebCrypto (Ed25519, SHA-256), with no page
 * state: a verifier key in note form, a signed checkpoint (C2SP signed-note over a C2SP
 * tlog-checkpoint), the SPEC §11 entry leaf v1 of an entry's exact text, and an RFC 6962
 * inclusion proof (verified as RFC 9162 §2.1.3.2 says). src/tlog/ holds the same formats for
 * Node; its code is synchronous over node:crypto and Buffer, so what the browser needs is
 * written here against WebCrypto instead (test/console/log-proofs.test.ts checks both agree).
 */
const utf8 = new TextEncoder();
const CANONICAL_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DASH = '\u2014 ';

/** A check that failed, in words for the page. */
export class IntegrityError extends Error {}

export function decodeBase64(text: string): Uint8Array | null {
  if (!CANONICAL_B64.test(text)) return null;
  const bin = atob(text);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return encodeBase64(out) === text ? out : null;
}

export function encodeBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export async function sha256(...parts: Array<Uint8Array | string>): Promise<Uint8Array> {
  const chunks = parts.map((p) => (typeof p === 'string' ? utf8.encode(p) : p));
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

/** The tenant a console token was issued for (its `tid` claim); the server checks the token, this only names the log to read. */
export function tokenTenant(token: string): string | undefined {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const tid = (JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as { tid?: unknown }).tid;
    return typeof tid === 'string' && tid !== '' ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** A WebCrypto public key (named so, since the Node and DOM typings call the type differently). */
type PublicKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface LogKey {
  readonly text: string;
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: PublicKey;
}

/** A verifier key in note form `<name>+<hex id>+<base64 of 0x01 ‖ Ed25519 key>`, its id checked. */
export async function parseLogKey(text: string): Promise<LogKey> {
  // The name holds no '+'; the base64 may.
  const t = text.trim();
  const plus = t.indexOf('+');
  const name = t.slice(0, Math.max(plus, 0));
  const hex = t.slice(plus + 1, plus + 9);
  const typed = t[plus + 9] === '+' ? decodeBase64(t.slice(plus + 10)) : null;
  if (plus <= 0 || !/^[0-9a-f]{8}$/.test(hex) || !typed || typed.length !== 33 || typed[0] !== 1) {
    throw new IntegrityError('The log’s verifier key is not an Ed25519 key in note form.');
  }
  const keyId = new DataView((await sha256(name, '\n', typed)).buffer).getUint32(0);
  if (keyId !== Number.parseInt(hex, 16)) throw new IntegrityError('The log’s verifier key has a wrong key id.');
  const publicKey = await crypto.subtle.importKey('raw', typed.slice(1), { name: 'Ed25519' }, false, ['verify']);
  return { text: t, name, keyId, publicKey };
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** Opens a signed checkpoint note: a valid signature by `key`, an origin that is the key's name, a well-formed body. */
export async function verifyCheckpoint(note: string, key: LogKey): Promise<Checkpoint> {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new IntegrityError('The checkpoint is not a signed note.');
  const text = note.slice(0, split + 1);
  let signed = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith(DASH)) throw new IntegrityError('The checkpoint has a malformed signature line.');
    const [name, b64] = line.slice(DASH.length).split(' ');
    const bytes = b64 === undefined ? null : decodeBase64(b64);
    if (name !== key.name || !bytes || bytes.length !== 68 || new DataView(bytes.buffer).getUint32(0) !== key.keyId) continue;
    if (!(await crypto.subtle.verify('Ed25519', key.publicKey, bytes.slice(4), utf8.encode(text)))) {
      throw new IntegrityError('The checkpoint’s signature does not verify with the log’s key.');
    }
    signed = true;
  }
  if (!signed) throw new IntegrityError('The checkpoint is not signed by the log’s key.');
  const [origin, sizeText, rootText] = text.slice(0, -1).split('\n');
  const rootHash = rootText === undefined ? null : decodeBase64(rootText);
  if (origin !== key.name) throw new IntegrityError('The checkpoint is of another log than the key’s.');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText ?? '') || !rootHash || rootHash.length !== 32)
    throw new IntegrityError('The checkpoint’s body is malformed.');
  return { origin, size: Number(sizeText), rootHash };
}

/** SPEC §11 entry leaf v1 of an entry, hashed as an RFC 6962 leaf. */
export async function entryLeafHash(logType: string, eventTime: string, wireText: string): Promise<Uint8Array> {
  const leaf = `logwarden/entry/v1\n${logType}\n${eventTime}\n${encodeBase64(await sha256(wireText))}\n`;
  return sha256(new Uint8Array([0]), leaf);
}

/** The root an inclusion proof leads to from `leaf` at `index` in a tree of `size` leaves, or null when the proof is malformed. */
export async function rootFromInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Promise<Uint8Array | null> {
  if (!(index >= 0 && index < size)) return null;
  const node = (l: Uint8Array, r: Uint8Array) => sha256(new Uint8Array([1]), l, r);
  const odd = (n: number) => n % 2 === 1;
  const half = (n: number) => Math.floor(n / 2);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (odd(fn) || fn === sn) {
      r = await node(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await node(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}
