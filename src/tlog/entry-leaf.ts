/**
 * The leaf logwarden logs for one stored entry (SPEC §11, version 1): four lines, each ending
 * in a newline:
 *   logwarden/entry/v1
 *   <logType>
 *   <eventTime exactly as served>
 *   <base64 of SHA-256 of the entry's wire text>
 * The wire text is the entry's JSON object exactly as `GET /v2/logs` serves it inside
 * `logEntries`, so the bytes a client receives are the bytes the tree commits to.
 */
import { LOG_TYPE_NAME } from '../logs/log-types.ts';
import { parseDateTime } from '../logs/time.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { type Hash, leafHash, sha256 } from './hash.ts';

export const ENTRY_LEAF_V1 = 'logwarden/entry/v1';

export interface EntryLeaf {
  logType: string;
  eventTime: string;
  /** SHA-256 of the wire text's UTF-8 bytes. */
  wireTextSha256: Uint8Array;
}

export class EntryLeafError extends Error {
  override readonly name = 'EntryLeafError';
}

export function wireTextDigest(wireText: string | Uint8Array): Uint8Array {
  return sha256(wireText);
}

function check(logType: string, eventTime: string): void {
  if (!LOG_TYPE_NAME.test(logType)) throw new EntryLeafError('logType is not a log type name');
  if (eventTime.length > 64 || !parseDateTime(eventTime).ok) throw new EntryLeafError('eventTime is not an ISO-8601 date-time with offset');
}

/** The leaf text for an entry, from its log type, served eventTime and wire text. */
export function buildEntryLeaf(entry: { logType: string; eventTime: string; wireText: string | Uint8Array }): string {
  check(entry.logType, entry.eventTime);
  return `${ENTRY_LEAF_V1}\n${entry.logType}\n${entry.eventTime}\n${encodeBase64(wireTextDigest(entry.wireText))}\n`;
}

/** The RFC 6962 leaf hash of an entry. */
export function entryLeafHash(entry: { logType: string; eventTime: string; wireText: string | Uint8Array }): Hash {
  return leafHash(buildEntryLeaf(entry));
}

/** Parses a version 1 entry leaf strictly; throws EntryLeafError. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseEntryLeaf(leaf: Uint8Array | string): EntryLeaf {
  let text: string;
  try {
    text = typeof leaf === 'string' ? leaf : strictUtf8.decode(leaf);
  } catch {
    throw new EntryLeafError('leaf is not UTF-8');
  }
  if (!text.endsWith('\n')) throw new EntryLeafError('leaf must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== ENTRY_LEAF_V1) throw new EntryLeafError(`leaf is not a ${ENTRY_LEAF_V1} leaf`);
  if (lines.length !== 4) throw new EntryLeafError('an entry leaf has exactly four lines');
  const [, logType, eventTime, digest] = lines as [string, string, string, string];
  check(logType, eventTime);
  const wireTextSha256 = decodeBase64(digest);
  if (!wireTextSha256 || wireTextSha256.length !== 32) throw new EntryLeafError('leaf digest is not base64 of 32 bytes');
  return { logType, eventTime, wireTextSha256 };
}

/**
 * The leaf text from its parts, when the wire text's digest is known rather than the text (a
 * store keeps the digest). Checked as buildEntryLeaf checks.
 */
export function formatEntryLeaf(leaf: EntryLeaf): string {
  check(leaf.logType, leaf.eventTime);
  return formatCheckedEntryLeaf(leaf);
}

/**
 * formatEntryLeaf without the checks of the log type and event time, for parts valid by
 * construction (a store's own records: a registered type name, a time it rendered itself),
 * where the leaf of every stored entry is formatted on the ingest path.
 */
export function formatCheckedEntryLeaf(leaf: EntryLeaf): string {
  if (leaf.wireTextSha256.length !== 32) throw new EntryLeafError('the wire text digest has 32 bytes');
  return `${ENTRY_LEAF_V1}\n${leaf.logType}\n${leaf.eventTime}\n${encodeBase64(leaf.wireTextSha256)}\n`;
}
