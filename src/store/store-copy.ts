/**
 * Copying a whole store into an empty one (`logwarden copy`), and checking the copy: the source
 * is read out as of one moment with its writers held off (`Store.exportAll`), the target takes
 * it in one transaction (`Store.importAll`), and then the target, opened afresh, is compared
 * with what was read: per tenant its record, keys, retention, holds, entries per log type, and
 * its verifiable log (size, root recomputed from the stored hashes, the last signed checkpoint
 * and the key it verifies with).
 */
import { isDeepStrictEqual } from 'node:util';
import { MIN_MS } from '../logs/time.ts';
import { encodeBase64 } from '../tlog/base64.ts';
import { hashesEqual, leafHash } from '../tlog/hash.ts';
import { readHashes } from '../tlog/hash-reader.ts';
import { proveInclusion, rootFromInclusionProof } from '../tlog/inclusion-proof.ts';
import { storedHashIndex } from '../tlog/stored-hash-index.ts';
import type { Store } from './store.ts';
import type { StoreExport, TenantExport } from './store-transfer.ts';

/** What was copied of one tenant, as the check found it on the target. */
export interface TenantCopied {
  readonly tenantId: string;
  readonly name: string;
  readonly entries: number;
  readonly accessKeys: number;
  readonly holds: number;
  readonly treeSize: number;
  /** The tree's root (base64), empty tree's included. */
  readonly root: string;
}

export interface CopySummary {
  readonly tenants: readonly TenantCopied[];
  readonly entries: number;
  readonly secrets: number;
}

/** What the export holds, for the check after the copy (the export itself is closed by then). */
export interface CopyExpectation {
  readonly tenants: readonly TenantExport[];
  readonly treeSizes: ReadonlyMap<string, number>;
  readonly secrets: number;
}

/**
 * Copies `source` into `target` (which must be empty). The source's writers are held off until
 * the copy is committed or has failed. Returns what the check must find; throws what closing
 * the source's export throws (a writer it found meanwhile: the target then lacks what it writes).
 */
export async function copyStore(
  source: Store,
  target: Store,
  progress?: (done: { entries: number; total: number }) => void,
): Promise<CopyExpectation> {
  if (!source.exportAll) throw new Error(`copying out of a ${source.kind} store is not supported`);
  if (!target.importAll) throw new Error(`copying into a ${target.kind} store is not supported`);
  const from: StoreExport = await source.exportAll();
  let expected: CopyExpectation;
  try {
    expected = expectationOf(from);
    const total = expectedEntries(expected);
    progress?.({ entries: 0, total });
    await target.importAll(from, progress && (({ entries }) => progress({ entries, total })));
  } catch (err) {
    await from.close().catch(() => {}); // the copy's own failure says more
    throw err;
  }
  // Closing may fail too (StoreInUseError, meanwhile: a writer came while the source was read).
  await from.close();
  return expected;
}

function expectationOf(from: StoreExport): CopyExpectation {
  const treeSizes = new Map(from.tenants.map((t) => [t.tenant.id, from.tree(t.tenant.id).size]));
  return { tenants: from.tenants, treeSizes, secrets: from.secrets.length };
}

/**
 * Checks a store as `checkCopy` checks a copy, against what it reads out of itself (a backup,
 * opened read-only): per tenant, the entries it counts per log type against those a page
 * finds, and its verifiable log (size, root recomputed from the stored hashes, the last signed
 * checkpoint verified with the tenant's key). CopyMismatchError names every problem.
 */
export async function checkStore(store: Store): Promise<CopySummary> {
  if (!store.exportAll) throw new Error(`checking a ${store.kind} store as a whole is not supported`);
  const from = await store.exportAll();
  let expected: CopyExpectation;
  try {
    expected = expectationOf(from);
  } finally {
    await from.close();
  }
  return checkCopy(store, expected);
}

/** Entries the expectation counts over all tenants. */
export function expectedEntries(expected: CopyExpectation): number {
  let n = 0;
  for (const t of expected.tenants) for (const c of Object.values(t.entryCounts)) n += c;
  return n;
}

/** Raised when the target does not hold what was copied; the message lists every difference. */
export class CopyMismatchError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the copy does not match the source: ${problems.join('; ')}`);
    this.name = 'CopyMismatchError';
  }
}

const byKey = <T>(list: readonly T[], key: (x: T) => string): T[] => [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
/** Whether two lists hold the same records, in whatever order (sorted by `key`). */
const sameRecords = <T>(a: readonly T[], b: readonly T[], key: (x: T) => string): boolean => isDeepStrictEqual(byKey(a, key), byKey(b, key));

/**
 * Checks the target (opened afresh after the copy, with the same log settings as the source)
 * against what was copied; throws CopyMismatchError naming every difference.
 */
export async function checkCopy(target: Store, expected: CopyExpectation): Promise<CopySummary> {
  const problems: string[] = [];
  const copied: TenantCopied[] = [];
  const tenants = await target.listTenants();
  if (
    !isDeepStrictEqual(
      tenants,
      expected.tenants.map((t) => t.tenant),
    )
  )
    problems.push('the tenants (ids, names, creation times, limits) differ');
  let total = 0;
  for (const t of expected.tenants) {
    const id = t.tenant.id;
    const say = (what: string) => problems.push(`tenant ${id}: ${what}`);
    if (!sameRecords(await target.listAccessKeys(id), t.accessKeys, (k) => k.accessKey)) say('its access keys differ');
    if (!isDeepStrictEqual(await target.getRetention(id), t.retention)) say('its retention settings differ');
    if (!sameRecords(await target.listHolds({ tenantId: id, includeReleased: true }), t.holds, (h) => h.id)) say('its legal holds differ');
    for (const c of t.syncCheckpoints) {
      if (!isDeepStrictEqual(await target.getCheckpoint(c.source, id, c.logType), c))
        say(`its sync checkpoint of ${c.source} (${c.logType}) differs`);
    }
    let entries = 0;
    for (const [logType, count] of Object.entries(t.entryCounts)) {
      const page = await target.firstPage({ tenantId: id, logType, fromMs: MIN_MS, toMs: null }, 1);
      if (page.total !== count) say(`${count} entries of ${logType} were copied, the target counts ${page.total}`);
      entries += count;
    }
    total += entries;
    const size = expected.treeSizes.get(id) ?? 0;
    const log = await target.log?.(id);
    let root = '';
    // A store opened read-only gives no log of a tenant that has signed nothing yet.
    if (!log) {
      if (size > 0) say('its verifiable log is missing');
    } else {
      if (log.verifierKey !== t.verifierKey)
        say(`its log key is ${log.verifierKey}, the source's ${t.verifierKey} (another LOGWARDEN_LOG_SIGNING_SECRET?)`);
      if (log.checkpoint.size !== size) say(`its tree has ${size} leaves, its last checkpoint ${log.checkpoint.size}`);
      if (t.latest !== undefined && log.checkpoint.note !== t.latest.note) say("the target's last signed checkpoint is not the source's");
      if (size > 0) {
        // The root again from the stored hashes: the last leaf's hash and its inclusion proof.
        const [last] = await readHashes(log.reader, [storedHashIndex(0, size - 1)]);
        const proof = await proveInclusion(size - 1, size, log.reader);
        const computed = rootFromInclusionProof(last!, size - 1, size, proof);
        if (computed === null || !hashesEqual(computed, log.checkpoint.rootHash))
          say("its stored tree hashes do not give its last checkpoint's root");
        const [text] = await log.leaves(size - 1, 1);
        if (text === undefined || !hashesEqual(leafHash(text), last!)) say('its last leaf text does not hash to its stored leaf hash');
      }
      root = encodeBase64(log.checkpoint.rootHash);
    }
    copied.push({ tenantId: id, name: t.tenant.name, entries, accessKeys: t.accessKeys.length, holds: t.holds.length, treeSize: size, root });
  }
  if (problems.length > 0) throw new CopyMismatchError(problems);
  return { tenants: copied, entries: total, secrets: expected.secrets };
}
