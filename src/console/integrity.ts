/**
 * The integrity badge's checks in the browser: the tenant's latest signed checkpoint under its
 * verifier key, pinned in this browser (localStorage, per origin) on first use; and one entry's
 * inclusion in that checkpoint, from the leaf recomputed from the exact text served.
 */
import {
  type Checkpoint,
  decodeBase64,
  entryLeafHash,
  IntegrityError,
  type LogKey,
  parseLogKey,
  rootFromInclusion,
  verifyCheckpoint,
} from './log-proofs.ts';
import { ConsoleError, type Session, sessionEnded } from './session.ts';

export { type Checkpoint, IntegrityError, tokenTenant } from './log-proofs.ts';

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Where this browser keeps the key it first saw for a tenant's log. */
const pinKey = (tenantId: string) => `logwarden.console.logKey.${tenantId}`;

export type LogCheck =
  | { readonly ok: true; readonly checkpoint: Checkpoint; readonly key: LogKey; readonly firstUse: boolean }
  | { readonly ok: false; readonly message: string; readonly changedKey?: { readonly pinned: string; readonly served: string } };

async function readText(session: Session, path: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${session.token}` }, credentials: 'omit' });
  } catch {
    // A network failure says nothing about the log: it is not a failed check.
    throw new ConsoleError('The server could not be reached.');
  }
  if (res.status === 401) throw sessionEnded(await res.text());
  if (!res.ok)
    throw new IntegrityError(res.status === 404 ? 'This server keeps no verifiable log for the tenant.' : `The server answered HTTP ${res.status}.`);
  return res.text();
}

/**
 * Reads and checks the tenant's latest checkpoint under its pinned key (pinning it on first
 * use). `trustKey`: a key shown to the person as served now, which they chose to trust: pinned
 * in place of the old one only if it is still the key served (a server that changed its key
 * again meanwhile shows the warning again, with that key).
 */
export async function checkLog(session: Session, tenantId: string, trustKey?: string): Promise<LogCheck> {
  try {
    if (!('subtle' in crypto)) throw new IntegrityError('This browser offers no WebCrypto here (a secure origin is needed).');
    const base = `v2/tlog/${encodeURIComponent(tenantId)}`;
    const [keyText, note] = await Promise.all([readText(session, `${base}/key`), readText(session, `${base}/checkpoint`)]);
    const served = keyText.trim();
    const pinned = localStorage.getItem(pinKey(tenantId));
    if (pinned !== null && pinned !== served && served !== trustKey) {
      return { ok: false, message: 'The log’s verifier key is not the one this browser pinned: nothing is checked.', changedKey: { pinned, served } };
    }
    const key = await parseLogKey(served);
    const checkpoint = await verifyCheckpoint(note, key);
    if (pinned !== served) localStorage.setItem(pinKey(tenantId), served);
    return { ok: true, checkpoint, key, firstUse: pinned === null };
  } catch (err) {
    if (err instanceof IntegrityError) return { ok: false, message: err.message };
    if (err instanceof ConsoleError) throw err;
    return { ok: false, message: `The log could not be checked: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * Checks that an entry (its exact text as served, its type and eventTime) is leaf `index` of
 * the verified checkpoint's tree; throws IntegrityError when it is not.
 */
export async function checkInclusion(
  session: Session,
  tenantId: string,
  checkpoint: Checkpoint,
  entry: { logType: string; eventTime: string; wireText: string; index: number },
): Promise<void> {
  if (entry.index >= checkpoint.size)
    throw new IntegrityError(`Leaf ${entry.index} is not yet in the checked checkpoint (tree size ${checkpoint.size}).`);
  const q = new URLSearchParams({ index: String(entry.index), size: String(checkpoint.size) });
  const text = await readText(session, `v2/tlog/${encodeURIComponent(tenantId)}/proof/inclusion?${q}`);
  const answer = JSON.parse(text) as { size?: number; proofs?: Array<{ index?: number; hashes?: string[] }> };
  const proof = answer.proofs?.find((p) => p.index === entry.index);
  const hashes = (proof?.hashes ?? []).map(decodeBase64);
  if (answer.size !== checkpoint.size || !proof || hashes.some((h) => h === null || h.length !== 32))
    throw new IntegrityError('The inclusion proof is malformed.');
  const leaf = await entryLeafHash(entry.logType, entry.eventTime, entry.wireText);
  const root = await rootFromInclusion(leaf, entry.index, checkpoint.size, hashes as Uint8Array[]);
  if (root === null || !equal(root, checkpoint.rootHash)) {
    throw new IntegrityError(`Not included: this entry’s text, as served, does not lead to the root of checkpoint ${checkpoint.size}.`);
  }
}
