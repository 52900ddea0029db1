/**
 * Verifying a tenant's log as a transparency-log monitor does (SPEC §11, docs/verifiable-log.md):
 *
 * - `checkpoint()` fetches the latest signed checkpoint, checks its signature against the
 *   pinned verifier key (or the key trusted on first use), and checks that it extends the last
 *   checkpoint this verifier saw (a consistency proof); a smaller tree is a rollback, a tree
 *   that does not extend it is a fork. Both are failures.
 * - `audit()` reads every leaf up to a checkpoint from the entry bundles and recomputes the
 *   tree's root from them; it resumes from the saved state (the right edge of the tree at the
 *   last full bundle audited, and the leaves kept in a LeafCache), so each run fetches only
 *   what was appended since.
 * - `proveWindow()` proves a window of one log type complete: every leaf of that type and
 *   time range is among the entries `/v2/logs` served, and every served entry is such a leaf.
 *
 * The state is plain JSON for the caller to keep (the CLI writes it to a file).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { compareInstants, type Instant, parseDateTime } from '../logs/time.ts';
import {
  type Checkpoint,
  CheckpointError,
  checkDeletionReceipts,
  consistencyRootsFrom,
  contentKey,
  DELETION_LEAF_V1,
  decodeBase64,
  decodeEntryBundle,
  ENTRY_LEAF_V1,
  encodeBase64,
  entryBundlePath,
  entryLeafHash,
  type Hash,
  hashesEqual,
  keyParts,
  leafHash,
  NoteError,
  type NoteVerifier,
  nodeHash,
  openCheckpoint,
  parseVerifierKey,
  TILE_WIDTH,
  tileHashReader,
  tilePath,
  tilesForTree,
  verifyConsistency,
  verifyInclusion,
  type WindowAudit,
  WindowMatcher,
  wireTextDigest,
} from '../tlog/index.ts';
import { CompactRange } from './compact-range.ts';
import { isLogsApiError } from './errors.ts';
import { fastLeafHash, fastSubtreeRoot } from './fast-hash.ts';
import { type LeafCache, MemoryLeafCache } from './leaf-cache.ts';
import { LeafHashes } from './leaf-hashes.ts';
import type { LogEntry } from './page.ts';
import { ServedDigests } from './served-digests.ts';
import type { IndexedTextPage, TlogClient } from './tlog-client.ts';

export type VerifyErrorCode =
  /** The checkpoint's signature does not verify with the pinned key, or it is malformed. */
  | 'bad-checkpoint'
  /** The pinned key differs from the key this state trusted before. */
  | 'key-mismatch'
  /** The server's tree is smaller than one it showed before. */
  | 'rollback'
  /** The server's tree does not extend one it showed before (two histories under one key). */
  | 'fork'
  /** The leaves or tiles served do not hash to the signed root. */
  | 'tree-mismatch'
  /**
   * Whether the tree extends one shown before cannot be proven either way: the server's
   * consistency proof does not verify and its tiles cannot be read.
   */
  | 'unproven'
  /** An entry bundle or leaf is malformed. */
  | 'bad-leaf'
  /** The window's pages serve more entries than the log holds leaves (a server that repeats itself). */
  | 'bad-window';

/** A proven violation (or an answer that cannot be checked); `message` says precisely what. */
export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a verifier remembers about one log between runs (JSON-safe). */
export interface LogState {
  /** The verifier key in note form. */
  verifierKey: string;
  /** How it came to be trusted. */
  keySource: 'pinned' | 'first-use';
  /** The last signed checkpoint seen and checked, verbatim. */
  checkpoint: string | null;
  /** When it was seen (ISO-8601). */
  seenAt: string | null;
  /** The right edge of the audited tree: `size` leaves (a multiple of 256), subtree hashes in base64, largest first. */
  audit: { size: number; edge: string[] } | null;
}

export interface CheckedCheckpoint {
  checkpoint: Checkpoint;
  /** The signed note as served. */
  note: string;
  /** The checkpoint seen before (size and root), or null on the first run. */
  previous: { size: number; rootHash: Hash; seenAt: string | null } | null;
  /** How it relates to `previous`. */
  relation: 'first' | 'same' | 'extends';
}

export interface AuditResult {
  size: number;
  /** Leaves read from the cache (audited by an earlier run against a consistent checkpoint). */
  fromCache: number;
  /** Leaves fetched and hashed in this run. */
  fetched: number;
  elapsedMs: number;
  /** Whether every tile was compared with the audited tree too. */
  tilesChecked: boolean;
}

export interface WindowSpec {
  logType: string;
  /** Inclusive, ISO-8601 with offset. */
  from: string;
  /** Exclusive; null: no upper bound. */
  to: string | null;
}

export interface WindowProof {
  /** True when nothing was hidden, nothing served is outside the tree, and every claimed leaf index held. */
  complete: boolean;
  window: WindowSpec;
  /** The checkpoint every served entry and every leaf was checked against. */
  checkpoint: Checkpoint;
  /** The tree size when reading the window began: leaves before it had to be served. */
  sizeAtStart: number;
  /** How the first checkpoint of this run related to the one seen before (the later one extends it). */
  consistency: Pick<CheckedCheckpoint, 'relation' | 'previous'>;
  served: number;
  /** Leaves of the window's type and range in the tree. */
  inWindow: number;
  /** Served entries proven to be leaves (inclusion and integrity). */
  proven: { position: number; leafIndex: number }[];
  /**
   * Leaves of the window that were not served though logged before the read began, or, marked
   * `servedOnSecondRead: false`, that looked appended during the read but were not served
   * when the window was read again after the checkpoint that holds them (nor deleted since).
   */
  hidden: { leafIndex: number; eventTime: string; servedOnSecondRead?: false }[];
  /** Leaves of the window logged while it was being read (not served by that read, served by a second one; not a violation). */
  late: { leafIndex: number; eventTime: string }[];
  /**
   * Leaves of the window not served because retention deleted them, each named by a deletion
   * receipt leaf whose count and digest over the deleted leaves' hashes check out. A leaf logged
   * during the read and deleted before the second read has its receipt in a later checkpoint,
   * proven to extend `checkpoint`.
   */
  deleted: { leafIndex: number; eventTime: string; receiptLeaf: number; deletedAt: string }[];
  /** Deletion receipts of the window's type that do not prove what they say (a failure). */
  badReceipts: { receiptLeaf: number; reason: string }[];
  /** Served entries that are no leaf of the window (altered, invented, or of another type/time). */
  unexpected: { position: number; eventTime: string; claimedLeafIndex: number | null; reason: string }[];
  audit: AuditResult;
}

export interface LogVerifierOptions {
  client: TlogClient;
  /** A verifier key to pin (note form). Without it: the state's key, else the server's on first use. */
  logKey?: string | undefined;
  /** The state of an earlier run, or null for a first run. */
  state?: LogState | null | undefined;
  /** Where audited leaves are kept between runs (default: in memory, so every run starts from leaf 0). */
  cache?: LeafCache | undefined;
  /** Entry bundles in flight at once (default 16). */
  concurrency?: number | undefined;
  /** Called as leaves are audited. */
  onProgress?: ((done: number, total: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

const b64 = (h: Hash) => encodeBase64(h);

/** A leaf's first lines as bytes, to pick out leaves of one kind and log type without decoding each. */
export function leafPrefix(kind: string, logType: string): Uint8Array {
  return new TextEncoder().encode(`${kind}\n${logType}\n`);
}

/** Whether `leaf` begins with `prefix` (and holds more). */
export function startsWith(leaf: Uint8Array, prefix: Uint8Array): boolean {
  return leaf.length > prefix.length && prefix.every((b, i) => leaf[i] === b);
}

/** The Merkle hash of a power-of-two run of hashes. */
function foldHashes(hashes: readonly Hash[]): Hash {
  let level = [...hashes];
  while (level.length > 1) {
    const up: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}
const short = (h: Hash) => encodeBase64(h).slice(0, 12) + '…';

function decodeHash(text: string, what: string): Hash {
  const h = decodeBase64(text);
  if (!h || h.length !== 32) throw new TypeError(`${what} is not base64 of a 32-byte hash`);
  return h;
}

/**
 * Why `key` does not open `note` as a checkpoint, in words (null when it does): another log's
 * key, no signature by it, a signature that does not verify, or a malformed checkpoint.
 */
export function notSignedBy(note: string, key: NoteVerifier): string | null {
  try {
    openCheckpoint(note, key);
    return null;
  } catch (err) {
    if (!(err instanceof NoteError || err instanceof CheckpointError)) throw err;
    const origin = note.split('\n', 1)[0]!;
    if (err instanceof NoteError && err.code === 'invalid-signature')
      return `its signature by that key does not verify (the checkpoint was altered, or signed by another key of the same name and id)`;
    if (err instanceof NoteError && err.code === 'unverified') {
      return origin !== key.name
        ? `that key is the key of the log ${JSON.stringify(key.name)}, and the checkpoint is of the log ${JSON.stringify(origin.slice(0, 200))}`
        : "it bears no signature by that key (the key has the log's name, but is another key)";
    }
    return `the checkpoint is malformed or not of that key's log: ${err.message}`;
  }
}

export class LogVerifier {
  readonly client: TlogClient;
  private stateValue: LogState | null;
  private readonly pinned: string | undefined;
  private readonly cache: LeafCache;
  private readonly concurrency: number;
  private readonly onProgress: (done: number, total: number) => void;
  private readonly signal: AbortSignal | undefined;
  private key: NoteVerifier | undefined;
  /** Set when this run trusted the server's key on first use. */
  trustedOnFirstUse = false;

  constructor(options: LogVerifierOptions) {
    this.client = options.client;
    this.stateValue = options.state ?? null;
    this.pinned = options.logKey?.trim();
    this.cache = options.cache ?? new MemoryLeafCache();
    this.concurrency = options.concurrency ?? 16;
    this.onProgress = options.onProgress ?? (() => {});
    this.signal = options.signal;
  }

  /** The state to keep for the next run (null until a checkpoint was checked). */
  get state(): LogState | null {
    return this.stateValue;
  }

  /** The verifier key in use: pinned, remembered, or the server's on first use. */
  async verifierKey(): Promise<{ key: NoteVerifier; text: string; source: 'pinned' | 'first-use' }> {
    const saved = this.stateValue;
    let text: string;
    let source: 'pinned' | 'first-use';
    if (this.pinned !== undefined) {
      if (saved && saved.verifierKey !== this.pinned) throw await this.keyMismatch(this.pinned, saved.verifierKey);
      text = this.pinned;
      source = 'pinned';
    } else if (saved) {
      text = saved.verifierKey;
      source = saved.keySource;
    } else {
      text = await this.client.verifierKey(this.signal);
      source = 'first-use';
      this.trustedOnFirstUse = true;
    }
    let key: NoteVerifier;
    try {
      key = parseVerifierKey(text);
    } catch (err) {
      throw new VerifyError(
        'bad-checkpoint',
        `${source === 'pinned' ? 'the pinned' : "the server's"} verifier key is malformed: ${(err as Error).message}`,
      );
    }
    this.key = key;
    return { key, text, source };
  }

  /**
   * The error for a pinned key other than the one the state trusted. When the pinned key does
   * not even sign the log's latest checkpoint, that is said first: it is the likelier mistake
   * (a key copied from another log) than a log whose key changed.
   */
  private async keyMismatch(pinned: string, trusted: string): Promise<VerifyError> {
    const advice = "a log's key does not change: check where each came from, and use another state file only once you know which is right";
    let pinnedKey: NoteVerifier;
    try {
      pinnedKey = parseVerifierKey(pinned);
    } catch (err) {
      return new VerifyError('bad-checkpoint', `the pinned verifier key is malformed: ${(err as Error).message}`);
    }
    const note = await this.client.checkpointNote(this.signal);
    const why = notSignedBy(note, pinnedKey);
    if (why === null) {
      return new VerifyError(
        'key-mismatch',
        `the pinned key ${pinned} signs the log's checkpoint, but it is not the key this state trusted before (${trusted}); ${advice}`,
      );
    }
    let trustedSigns = false;
    try {
      trustedSigns = notSignedBy(note, parseVerifierKey(trusted)) === null;
    } catch {
      // A malformed key in the state signs nothing.
    }
    return new VerifyError(
      'key-mismatch',
      `the checkpoint is not validly signed by ${pinned} (the pinned key): ${why}; and the pinned key is not the key this state trusted before (${trusted}), ${
        trustedSigns ? 'which does sign it' : 'which does not sign it either'
      }; ${advice}`,
    );
  }

  /** Opens a signed checkpoint with the key in use; throws VerifyError('bad-checkpoint'). */
  async open(note: string): Promise<Checkpoint> {
    const key = this.key ?? (await this.verifierKey()).key;
    try {
      return openCheckpoint(note, key).checkpoint;
    } catch (err) {
      if (err instanceof NoteError || err instanceof CheckpointError) {
        const whose = this.pinned !== undefined ? 'the pinned key' : this.trustedOnFirstUse ? "the server's key" : 'the key this state trusted';
        throw new VerifyError(
          'bad-checkpoint',
          `the checkpoint is not validly signed by ${key.text} (${whose}): ${notSignedBy(note, key) ?? err.message}`,
        );
      }
      throw err;
    }
  }

  /**
   * Fetches the latest checkpoint, checks its signature and that it extends the last one seen,
   * and records it in the state. Throws VerifyError on a bad signature, a rollback or a fork.
   */
  async checkpoint(): Promise<CheckedCheckpoint> {
    const { text: keyText, source } = await this.verifierKey();
    const note = await this.client.checkpointNote(this.signal);
    const checkpoint = await this.open(note);
    const saved = this.stateValue;
    let previous: CheckedCheckpoint['previous'] = null;
    let relation: CheckedCheckpoint['relation'] = 'first';
    if (saved?.checkpoint) {
      const old = await this.open(saved.checkpoint);
      previous = { size: old.size, rootHash: old.rootHash, seenAt: saved.seenAt };
      const seen = `size ${old.size} (root ${b64(old.rootHash)}${saved.seenAt ? `, seen ${saved.seenAt}` : ''})`;
      const now = `size ${checkpoint.size} (root ${b64(checkpoint.rootHash)})`;
      if (checkpoint.size < old.size) {
        throw new VerifyError(
          'rollback',
          `rollback: the log now shows a signed tree of ${now}, smaller than the tree of ${seen}; a log only grows, so the server is showing an older state of it`,
        );
      }
      if (checkpoint.size === old.size) {
        if (!hashesEqual(checkpoint.rootHash, old.rootHash)) {
          throw new VerifyError(
            'fork',
            `fork: two different trees of size ${old.size} are signed by the log's key: root ${b64(old.rootHash)} seen before, root ${b64(checkpoint.rootHash)} now; the log's history was rewritten`,
          );
        }
        relation = 'same';
      } else {
        // Every tree extends the empty tree, with an empty proof.
        const served = old.size === 0 ? [] : await this.servedConsistencyProof(old.size, checkpoint.size);
        // A proof from the endpoint that verifies settles it; one that does not proves nothing
        // either way, and neither does a missing one: the tiles (which need no trust either)
        // decide, or say that they cannot.
        if (served === null || !verifyConsistency(old.size, checkpoint.size, served, old.rootHash, checkpoint.rootHash)) {
          const why = served === null ? 'the server has no consistency proof endpoint' : "the server's consistency proof does not verify";
          let roots: { first: Hash; second: Hash };
          try {
            roots = await consistencyRootsFrom(
              old.size,
              checkpoint.size,
              tileHashReader(checkpoint.size, (t) => this.client.tile(t, this.signal)),
            );
          } catch (err) {
            if (served === null || this.signal?.aborted) throw err;
            throw new VerifyError(
              'unproven',
              `whether the signed tree of ${now} extends the tree of ${seen} cannot be proven: ${why}, and its tiles cannot be read (${(err as Error).message})`,
            );
          }
          if (!hashesEqual(roots.second, checkpoint.rootHash)) {
            throw new VerifyError(
              'tree-mismatch',
              `the server's tiles do not match its signed checkpoint of ${now}: they give root ${b64(roots.second)}; so whether that tree extends the tree of ${seen} cannot be proven (${why})`,
            );
          }
          if (!hashesEqual(roots.first, old.rootHash)) {
            throw new VerifyError(
              'fork',
              `fork: the signed tree of ${now} does not extend the tree of ${seen}: its tiles, which hash to its signed root, give its first ${old.size} leaves the root ${b64(roots.first)} (${why}); the log's first ${old.size} leaves were changed, removed or reordered`,
            );
          }
        }
        relation = 'extends';
      }
    }
    const seenAt = relation === 'same' && saved?.seenAt ? saved.seenAt : new Date().toISOString();
    this.stateValue = { verifierKey: keyText, keySource: source, checkpoint: note, seenAt, audit: saved?.audit ?? null };
    return { checkpoint, note, previous, relation };
  }

  /** The consistency proof of the server's JSON endpoint, or null when it has none (404). */
  private async servedConsistencyProof(from: number, to: number): Promise<Hash[] | null> {
    try {
      return await this.client.consistencyProof(from, to, this.signal);
    } catch (err) {
      if (!isLogsApiError(err, 'not_found')) throw err;
      return null;
    }
  }

  /**
   * Audits every leaf of the tree up to `checkpoint` (which must have come from `checkpoint()`):
   * reads the leaves an earlier run audited from the cache, fetches the rest, and checks that
   * all of them hash to the checkpoint's root. `visit` sees every leaf in order.
   */
  async audit(
    checkpoint: Checkpoint,
    visit: (index: number, leaf: Uint8Array) => void = () => {},
    options: { checkTiles?: boolean } = {},
  ): Promise<AuditResult> {
    const started = performance.now();
    const size = checkpoint.size;
    const leafHashes: Hash[] | null = options.checkTiles ? [] : null;
    if (leafHashes) {
      const inner = visit;
      visit = (index, leaf) => {
        leafHashes.push(fastLeafHash(leaf));
        inner(index, leaf);
      };
    }
    const saved = this.stateValue?.audit ?? null;
    let edge = new CompactRange();
    let fromCache = 0;
    if (saved && saved.size <= size && saved.size % TILE_WIDTH === 0) {
      const resumed = new CompactRange(
        saved.size,
        saved.edge.map((h, i) => decodeHash(h, `state audit.edge[${i}]`)),
      );
      if (await this.cache.read(saved.size, visit)) {
        edge = resumed;
        fromCache = saved.size;
      }
    }
    await this.cache.truncate(edge.size);
    this.onProgress(fromCache, size);

    const fullBundles = Math.floor(size / TILE_WIDTH);
    const lastBundle = Math.ceil(size / TILE_WIDTH);
    const firstBundle = edge.size / TILE_WIDTH;
    const fetchBundle = (n: number) => {
      const width = n < fullBundles ? TILE_WIDTH : size % TILE_WIDTH;
      return this.client.entryBundle(n, width, this.signal).then((bytes) => ({ n, width, bytes }));
    };
    const inFlight: Promise<{ n: number; width: number; bytes: Uint8Array }>[] = [];
    let next = firstBundle;
    const fill = () => {
      while (inFlight.length < this.concurrency && next < lastBundle) inFlight.push(fetchBundle(next++));
    };
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let boundary: { size: number; edge: readonly Hash[] } = { size: edge.size, edge: [...edge.hashes] };
    const fetchedBundles: number[] = [];
    fill();
    try {
      while (inFlight.length > 0) {
        const { n, width, bytes } = await inFlight.shift()!;
        fill();
        let leaves: Uint8Array[];
        try {
          leaves = decodeEntryBundle(bytes);
        } catch (err) {
          throw new VerifyError('bad-leaf', `${entryBundlePath(n, width)} is malformed: ${(err as Error).message}`);
        }
        if (leaves.length !== width) {
          throw new VerifyError('bad-leaf', `${entryBundlePath(n, width)} holds ${leaves.length} leaves, expected ${width}`);
        }
        const base = n * TILE_WIDTH;
        // A full bundle is a complete subtree: its root joins the edge at once.
        if (width === TILE_WIDTH) edge.appendSubtree(fastSubtreeRoot(leaves), TILE_WIDTH);
        for (let i = 0; i < leaves.length; i++) {
          if (width !== TILE_WIDTH) edge.append(fastLeafHash(leaves[i]!));
          visit(base + i, leaves[i]!);
        }
        fetchedBundles.push(n);
        if (width === TILE_WIDTH) {
          pending.push(bytes);
          pendingBytes += bytes.length;
          boundary = { size: edge.size, edge: [...edge.hashes] };
          if (pendingBytes > 4 << 20) {
            await this.cache.append(...pending);
            pending = [];
            pendingBytes = 0;
          }
        }
        this.onProgress(edge.size, size);
      }
      if (pending.length > 0) await this.cache.append(...pending);
    } catch (err) {
      inFlight.forEach((p) => p.catch(() => undefined));
      throw err;
    }
    const root = edge.root();
    if (!hashesEqual(root, checkpoint.rootHash)) {
      await this.cache.truncate(fromCache);
      throw new VerifyError('tree-mismatch', await this.explainMismatch(checkpoint, root, fetchedBundles));
    }
    // Only now are the leaves fetched the signed tree's: a later run may read them as audited.
    await this.cache.checked(boundary.size);
    if (leafHashes) await this.checkTiles(size, leafHashes);
    if (this.stateValue) this.stateValue.audit = { size: boundary.size, edge: boundary.edge.map(b64) };
    return { size, fromCache, fetched: size - fromCache, elapsedMs: performance.now() - started, tilesChecked: leafHashes !== null };
  }

  /**
   * Compares every tile of the tree with the hashes of the leaves just proven to be the signed
   * tree's: a tile (a stored hash) that differs from the signed tree is reported by path.
   */
  private async checkTiles(size: number, leafHashes: readonly Hash[]): Promise<void> {
    const levels: Hash[][] = [[...leafHashes]];
    for (let l = 0; levels[l]!.length >= TILE_WIDTH; l++) {
      const below = levels[l]!;
      const up: Hash[] = [];
      for (let k = 0; (k + 1) * TILE_WIDTH <= below.length; k++) up.push(foldHashes(below.slice(k * TILE_WIDTH, (k + 1) * TILE_WIDTH)));
      levels.push(up);
    }
    const tiles = tilesForTree(size);
    for (let at = 0; at < tiles.length; at += this.concurrency) {
      const batch = tiles.slice(at, at + this.concurrency);
      const got = await Promise.all(batch.map((t) => this.client.tile(t, this.signal)));
      batch.forEach((t, j) => {
        const data = got[j]!;
        const want = levels[t.level]!.slice(t.n * TILE_WIDTH, t.n * TILE_WIDTH + t.width);
        if (data.length !== t.width * 32) throw new VerifyError('tree-mismatch', `${tilePath(t)} has ${data.length} bytes, expected ${t.width * 32}`);
        want.forEach((h, i) => {
          if (!hashesEqual(h, data.subarray(i * 32, i * 32 + 32))) {
            throw new VerifyError(
              'tree-mismatch',
              `${tilePath(t)} serves hash ${i} (${t.level === 0 ? `leaf ${t.n * TILE_WIDTH + i}` : `the subtree of leaves ${(t.n * TILE_WIDTH + i) * TILE_WIDTH ** t.level}…`}) as ${b64(data.subarray(i * 32, i * 32 + 32))}, but the signed tree has ${b64(h)}: the log's stored hashes were altered`,
            );
          }
        });
      });
    }
  }

  /** Finds the first leaf whose data does not match the server's own leaf hash tile, to say where the tree and the data part. */
  private async explainMismatch(checkpoint: Checkpoint, root: Hash, bundles: readonly number[]): Promise<string> {
    const head = `the leaves served up to tree size ${checkpoint.size} hash to root ${b64(root)}, not to the signed root ${b64(checkpoint.rootHash)}`;
    const fullBundles = Math.floor(checkpoint.size / TILE_WIDTH);
    for (const n of bundles) {
      const width = n < fullBundles ? TILE_WIDTH : checkpoint.size % TILE_WIDTH;
      try {
        const [tile, bundle] = await Promise.all([
          this.client.tile({ level: 0, n, width }, this.signal),
          this.client.entryBundle(n, width, this.signal),
        ]);
        const leaves = decodeEntryBundle(bundle);
        for (let i = 0; i < leaves.length; i++) {
          const want = tile.subarray(i * 32, i * 32 + 32);
          if (!hashesEqual(leafHash(leaves[i]!), want)) {
            return `${head}: leaf ${n * TILE_WIDTH + i} as served in ${entryBundlePath(n, width)} does not match its hash in ${tilePath({ level: 0, n, width })} (the entry's logged data was altered)`;
          }
        }
      } catch {
        break;
      }
    }
    return `${head}: the log's data no longer matches the tree it signed (leaves altered, removed, inserted or reordered)`;
  }

  /**
   * Proves a window of one log type complete and every served entry included, against a
   * checkpoint taken after the window was read (waiting up to `waitMs` for one that covers
   * every leaf index the server reported). Throws VerifyError on a bad checkpoint, a fork, a
   * rollback or a tree mismatch; a hidden or unexpected entry makes `complete` false.
   */
  async proveWindow(window: WindowSpec, options: { pageSize?: number; waitMs?: number; checkTiles?: boolean } = {}): Promise<WindowProof> {
    const before = await this.checkpoint();
    // Page by page, keeping a digest of each entry (not the entry): a window of any size.
    const served = new ServedDigests();
    const pages = this.windowPages(window, options.pageSize ?? 1000, before.checkpoint.size, options.waitMs ?? 3000);
    for await (const { page, leafIndexes } of pages) {
      const texts = page.textBytes;
      for (let i = 0; i < texts.length; i++) served.add(page.eventTimes[i]!, texts[i]!, leafIndexes?.[i] ?? null);
    }
    const needed = served.claimedSize;
    // A fresh checkpoint even when the first covers every leaf served: a purge during the read
    // appended its deletion receipt after the first, and without it the entries it deleted
    // before they were served would look hidden.
    let after = await this.checkpoint();
    const deadline = Date.now() + (options.waitMs ?? 3000);
    // A checkpoint covers an acknowledged batch within a second: wait for one that covers what was served.
    while (after.checkpoint.size < needed && Date.now() < deadline) {
      await sleep(200, undefined, { signal: this.signal });
      after = await this.checkpoint();
    }
    const prefix = leafPrefix(ENTRY_LEAF_V1, window.logType);
    const receiptPrefix = leafPrefix(DELETION_LEAF_V1, window.logType);
    const matcher = new WindowMatcher(window);
    // Every entry leaf of the type, by hash (what deletion receipts are checked against).
    const typeHashes = new LeafHashes();
    const receipts = new Map<number, string>();
    // The leaves entries were claimed to be, ascending, walked as the audit goes.
    const claims = served.claimedAscending();
    let nextClaim = 0;
    // A malformed leaf is reported once the audit has shown the leaves to be the signed tree's
    // (else a leaf altered in transit is a tree mismatch, as it should be).
    let malformed: unknown;
    const audit = await this.audit(
      after.checkpoint,
      (index, leaf) => {
        while (nextClaim < claims.length && claims[nextClaim]! < index) nextClaim++;
        if (startsWith(leaf, prefix)) {
          typeHashes.add(index, leaf);
          try {
            matcher.add(index, leaf, claims[nextClaim] === index);
          } catch (err) {
            malformed ??= err;
          }
        } else if (startsWith(leaf, receiptPrefix)) receipts.set(index, new TextDecoder().decode(leaf));
      },
      { checkTiles: options.checkTiles === true },
    );
    if (malformed !== undefined) throw malformed;
    const result = matcher.match(served.entries());
    const deletions = checkDeletionReceipts(receipts, (index) => typeHashes.get(index));
    const proof = windowProof(window, before.checkpoint.size, after.checkpoint, served, matcher, typeHashes, result, audit, deletions);
    if (proof.late.length > 0) {
      const notServed = await this.lateNotServed(window, options.pageSize ?? 1000, proof, matcher, result);
      if (notServed.size > 0) {
        // Retention may have deleted them between the checkpoint and the second read (an entry
        // logged already past its type's retention goes at the next purge): that purge's receipt
        // is in a checkpoint taken now, which must extend the one the audit used.
        const size = after.checkpoint.size;
        const newer = await this.checkpoint();
        await this.audit(newer.checkpoint, (index, leaf) => {
          if (index < size) return;
          if (startsWith(leaf, prefix)) typeHashes.add(index, leaf);
          else if (startsWith(leaf, receiptPrefix)) receipts.set(index, new TextDecoder().decode(leaf));
        });
        unservedLate(
          proof,
          notServed,
          checkDeletionReceipts(receipts, (index) => typeHashes.get(index)),
        );
      }
    }
    return { ...proof, consistency: { relation: before.relation, previous: before.previous } };
  }

  /**
   * The window's pages, read once. Each entry served is a distinct leaf, so a read that serves
   * more entries than the log holds leaves (waiting up to `waitMs` for a checkpoint that covers
   * them, as for leaf indexes) is a server repeating itself, e.g. cursors that lead in a circle:
   * it fails instead of reading forever.
   */
  private async *windowPages(window: WindowSpec, pageSize: number, size: number, waitMs: number): AsyncGenerator<IndexedTextPage, void, undefined> {
    let known = size;
    let served = 0;
    for await (const page of this.client.indexedTextPages({
      logType: window.logType,
      fromDateTime: window.from,
      toDateTime: window.to ?? undefined,
      limit: pageSize,
      signal: this.signal,
    })) {
      served += page.page.textBytes.length;
      if (served > known) {
        const deadline = Date.now() + waitMs;
        for (;;) {
          known = (await this.checkpoint()).checkpoint.size;
          if (served <= known || Date.now() >= deadline) break;
          await sleep(200, undefined, { signal: this.signal });
        }
        if (served > known) {
          throw new VerifyError(
            'bad-window',
            `the server served ${served} entries for the window, more than the ${known} leaves its log holds: it serves entries more than once (pages that repeat, cursors that lead in a circle)`,
          );
        }
      }
      yield page;
    }
  }

  /**
   * Late leaves are only as late as the first checkpoint says: a server that showed an older
   * checkpoint first could pass off any leaf it hides as appended during the read. Every late
   * leaf is in the tree of the checkpoint the audit used, which was read before this second
   * read of the window begins, so each must be served now, unless a purge deleted it since;
   * returns those that are not. Identical entries count as a multiset: a key must be served as
   * often as the window's leaves with that key matched before plus its late ones.
   */
  private async lateNotServed(
    window: WindowSpec,
    pageSize: number,
    proof: Omit<WindowProof, 'consistency'>,
    matcher: WindowMatcher,
    result: WindowAudit,
  ): Promise<Set<number>> {
    const need = new Map<string, number>();
    const lateByKey = new Map<string, WindowProof['late']>();
    for (const l of proof.late) {
      const key = matcher.keyOf(l.leafIndex)!;
      need.set(key, (need.get(key) ?? 0) + 1);
      const same = lateByKey.get(key);
      if (same) same.push(l);
      else lateByKey.set(key, [l]);
    }
    for (const { leaf } of result.matched) {
      const key = matcher.keyOf(leaf);
      if (key !== undefined && need.has(key)) need.set(key, need.get(key)! + 1);
    }
    // From the earliest late leaf on: every entry counted in `need` has the eventTime of a late leaf.
    // (A late leaf is one of the window's, so its eventTime parses; else the whole window is read.)
    let from: string | undefined;
    let earliest: Instant | undefined;
    for (const l of proof.late) {
      const t = parseDateTime(l.eventTime);
      if (!t.ok) {
        from = window.from;
        break;
      }
      if (earliest === undefined || compareInstants(t.instant, earliest) < 0) {
        earliest = t.instant;
        from = l.eventTime;
      }
    }
    for await (const { page } of this.windowPages({ ...window, from: from ?? window.from }, pageSize, proof.checkpoint.size, 3000)) {
      page.textBytes.forEach((text, i) => {
        const key = contentKey(page.eventTimes[i]!, wireTextDigest(text));
        const left = need.get(key);
        if (left !== undefined) need.set(key, left - 1);
      });
    }
    const notServed = new Set<number>();
    for (const [key, left] of need) {
      if (left <= 0) continue;
      const late = lateByKey.get(key)!;
      for (const l of late.slice(Math.max(0, late.length - left))) notServed.add(l.leafIndex);
    }
    return notServed;
  }

  /**
   * Proves given entries included in the signed tree at their leaf indexes, with the server's
   * inclusion proofs (light clients that do not audit). Returns the indexes that failed.
   */
  async proveIncluded(
    checkpoint: Checkpoint,
    entries: readonly { logType: string; entry: LogEntry; leafIndex: number }[],
  ): Promise<{ proven: number[]; failed: { leafIndex: number; reason: string }[] }> {
    const proven: number[] = [];
    const failed: { leafIndex: number; reason: string }[] = [];
    for (let at = 0; at < entries.length; at += 1000) {
      const batch = entries.slice(at, at + 1000);
      const answer = await this.client.inclusionProofs(
        batch.map((e) => e.leafIndex),
        checkpoint.size,
        this.signal,
      );
      const byIndex = new Map(answer.proofs.map((p) => [p.index, p]));
      for (const e of batch) {
        const p = byIndex.get(e.leafIndex);
        const leaf = entryLeafHash({ logType: e.logType, eventTime: e.entry.eventTime, wireText: e.entry.raw });
        if (!p) failed.push({ leafIndex: e.leafIndex, reason: 'the server sent no proof for it' });
        else if (!verifyInclusion(leaf, e.leafIndex, checkpoint.size, p.hashes, checkpoint.rootHash)) {
          failed.push({
            leafIndex: e.leafIndex,
            reason: `the entry as served is not leaf ${e.leafIndex} of the signed tree (altered, or at another index)`,
          });
        } else proven.push(e.leafIndex);
      }
    }
    return { proven, failed };
  }
}

/**
 * Late leaves the second read did not serve: deleted when a valid receipt (of the checkpoint
 * taken after that read) names them, hidden otherwise. `deletions` covers every receipt of the
 * window's type up to that checkpoint, so its bad receipts replace the proof's.
 */
function unservedLate(
  proof: Omit<WindowProof, 'consistency'>,
  notServed: ReadonlySet<number>,
  deletions: ReturnType<typeof checkDeletionReceipts>,
): void {
  const unserved = proof.late.filter((l) => notServed.has(l.leafIndex));
  proof.late = proof.late.filter((l) => !notServed.has(l.leafIndex));
  const deleted = unserved.filter((l) => deletions.deleted.has(l.leafIndex));
  proof.deleted = [...proof.deleted, ...deleted.map((l) => ({ ...deletions.deleted.get(l.leafIndex)!, eventTime: l.eventTime }))].sort(
    (a, b) => a.leafIndex - b.leafIndex,
  );
  proof.hidden = [
    ...proof.hidden,
    ...unserved.filter((l) => !deletions.deleted.has(l.leafIndex)).map((l) => ({ ...l, servedOnSecondRead: false as const })),
  ].sort((a, b) => a.leafIndex - b.leafIndex);
  proof.badReceipts = deletions.bad;
  proof.complete = proof.hidden.length === 0 && proof.unexpected.length === 0 && proof.badReceipts.length === 0;
}

function windowProof(
  window: WindowSpec,
  sizeAtStart: number,
  checkpoint: Checkpoint,
  served: ServedDigests,
  matcher: WindowMatcher,
  typeHashes: LeafHashes,
  result: WindowAudit,
  audit: AuditResult,
  deletions: ReturnType<typeof checkDeletionReceipts>,
): Omit<WindowProof, 'consistency'> {
  // Every leaf of the window has its key kept (see WindowMatcher.add).
  const eventTimeOf = (index: number) => keyParts(matcher.keyOf(index)!).eventTime;
  // A leaf a valid receipt names is deleted, not hidden (whenever the deletion happened).
  const deleted = result.missing
    .filter((i) => deletions.deleted.has(i))
    .map((leafIndex) => ({ ...deletions.deleted.get(leafIndex)!, eventTime: eventTimeOf(leafIndex) }));
  // A leaf whose entry was served altered (its claimed index names it) was served, not hidden:
  // the altered entry is reported, once.
  const twice = new Set(result.servedTwice);
  const servedAltered = new Set<number>();
  for (const position of result.unexpected) {
    const claimed = served.claim(position);
    if (claimed !== null && !twice.has(position)) servedAltered.add(claimed);
  }
  const notDeleted = result.missing.filter((i) => !deletions.deleted.has(i) && !servedAltered.has(i));
  const hidden = notDeleted.filter((i) => i < sizeAtStart).map((leafIndex) => ({ leafIndex, eventTime: eventTimeOf(leafIndex) }));
  const late = notDeleted.filter((i) => i >= sizeAtStart).map((leafIndex) => ({ leafIndex, eventTime: eventTimeOf(leafIndex) }));
  const unexpected: WindowProof['unexpected'] = result.unexpected.map((position) => ({
    position,
    eventTime: served.eventTime(position),
    claimedLeafIndex: served.claim(position),
    reason: twice.has(position)
      ? `served more often than it was logged: a duplicate (same eventTime and text) of an entry served before${served.claim(position) === null ? '' : `; the server says it is leaf ${served.claim(position)}`}`
      : unexpectedReason(window, served, position, matcher, checkpoint.size),
  }));
  const proven: WindowProof['proven'] = [];
  for (const { served: position, leaf } of result.matched) {
    const claimed = served.claim(position);
    // Identical entries are interchangeable leaves; only a claim whose leaf differs is a lie.
    if (claimed !== null && claimed !== leaf && !sameHash(typeHashes.get(claimed), typeHashes.get(leaf))) {
      unexpected.push({
        position,
        eventTime: served.eventTime(position),
        claimedLeafIndex: claimed,
        reason:
          claimed >= checkpoint.size
            ? `the server says it is leaf ${claimed}, beyond the signed tree of ${checkpoint.size} leaves (this entry is leaf ${leaf})`
            : typeHashes.get(claimed) === undefined
              ? `the server says it is leaf ${claimed}, but leaf ${claimed} is not a ${window.logType} entry (this entry is leaf ${leaf})`
              : `the server says it is leaf ${claimed}, but leaf ${claimed} is another entry (this entry is leaf ${leaf})`,
      });
    } else proven.push({ position, leafIndex: claimed ?? leaf });
  }
  unexpected.sort((a, b) => a.position - b.position);
  proven.sort((a, b) => a.position - b.position);
  return {
    complete: hidden.length === 0 && unexpected.length === 0 && deletions.bad.length === 0,
    window,
    checkpoint,
    sizeAtStart,
    served: served.length,
    inWindow: result.inWindow,
    proven,
    hidden,
    late,
    deleted,
    badReceipts: deletions.bad,
    unexpected,
    audit,
  };
}

const sameHash = (a: Hash | undefined, b: Hash | undefined) => a !== undefined && b !== undefined && hashesEqual(a, b);

function unexpectedReason(window: WindowSpec, served: ServedDigests, position: number, matcher: WindowMatcher, size: number): string {
  const claimed = served.claim(position);
  if (claimed !== null) {
    if (claimed >= size) return `the server says it is leaf ${claimed}, beyond the signed tree of ${size} leaves`;
    const key = matcher.keyOf(claimed);
    if (!key) return `the server says it is leaf ${claimed}, but leaf ${claimed} is not a ${window.logType} entry`;
    const l = keyParts(key);
    if (l.eventTime !== served.eventTime(position))
      return `leaf ${claimed} has eventTime ${l.eventTime}, the entry served ${served.eventTime(position)}`;
    return `its text differs from what leaf ${claimed} logged (digest ${short(l.wireTextSha256)}): the entry was altered after it was logged`;
  }
  return `no ${window.logType} leaf of the window has this eventTime and text: the entry was altered or never logged`;
}
