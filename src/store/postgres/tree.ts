/**
 * The PostgreSQL store's verifiable log (SPEC §11), the layout of ../tree-hashes.ts as the SQLite
 * store keeps it:
 *
 * - `tree_tiles`: the leaf records of each full level 0 tile, one row per 256 leaves;
 * - `tree_high`: the hashes at tree level 8 and above;
 * - `tree_checkpoints`: every signed checkpoint, by origin and size, in the compact form of
 *   ../tree-checkpoint-rows.ts; `tree_origins` numbers each tenant's origins;
 * - `tree_runs`: which leaves the entries' sequences map to, as runs of consecutive sequences
 *   appended as consecutive leaves (an append gives its accepted entries consecutive sequences,
 *   so a tenant's runs grow by one row only when the map has a gap: entries stored before the
 *   tree existed, whose sequences skipped duplicates);
 * - the tree's tip in the tenant's `entry_seqs` row: its size, the records of the partial
 *   tile, the hashes of the complete level 8+ subtrees left of it ("peaks", what the next full
 *   tile is combined with) and the latest signed checkpoint.
 *
 * Serialisation: every append (and the upgrade's tree building) locks the tenant's `entry_seqs`
 * row first (`SELECT … FOR UPDATE`, which hands back the row as the lock holder before it
 * committed it), so one tenant's leaves are assigned by one transaction at a time, across
 * processes, and each transaction extends exactly the tip it read. The statements after the
 * lock see everything its previous holders committed.
 *
 * A checkpoint is signed in the appending transaction for the size it commits, after checking
 * that the tip it extends has the root of the last checkpoint signed under the tenant's
 * origin (the tip's own note when it has that origin; else the stored hashes at that
 * checkpoint's size): a diverging tip is refused, never signed over.
 */
import type pg from 'pg';
import { type Checkpoint, openCheckpoint } from '../../tlog/checkpoint.ts';
import { HASH_SIZE, type Hash, hashesEqual } from '../../tlog/hash.ts';
import { InconsistentTreeError } from '../../tlog/next-checkpoint.ts';
import { foldRange, rangeStoredIndexes } from '../../tlog/subtree.ts';
import { TILE_WIDTH } from '../../tlog/tile.ts';
import type { LogWitness } from '../log-witness.ts';
import { type SignedTreeHead, StoreRolledBackError, type TenantLog } from '../store.ts';
import { appendToTree, type TreeTip, tileRootOf } from '../tree-append.ts';
import { signNextCheckpointNow, unopenedCheckpoint } from '../tree-checkpoint.ts';
import { type CheckpointRow, checkpointRow, noteOfRow } from '../tree-checkpoint-rows.ts';
import { LeafHashCache, TREE_HIGH_LEVEL, type TreeHashNeeds, type TreeHashSource, treeHashReader, treeRoot } from '../tree-hashes.ts';
import type { LogKeys } from '../tree-keys.ts';
import {
  isReceiptRecord,
  LEAF_RECORD_BYTES,
  type LeafRecord,
  leafText,
  RECEIPT_TYPE_ID,
  readLeafRecord,
  receiptRecordOf,
  type TypeNames,
} from '../tree-leaf-records.ts';
import { isUnanswered } from './pool.ts';

/** The size and text of the last checkpoint kept under `origin`, if any. */
export async function latestCheckpoint(q: pg.Pool | pg.PoolClient, tid: number, origin: string): Promise<{ size: number; note: string } | undefined> {
  const r = await q.query<{ size: string } & CheckpointRow>({
    name: 'lw_tree_latest',
    text: `SELECT c.size, c.root, c.sig, c.note FROM tree_origins o JOIN tree_checkpoints c ON c.tid = o.tid AND c.oid = o.oid
           WHERE o.tid = $1 AND o.origin = $2 ORDER BY c.size DESC LIMIT 1`,
    values: [tid, origin],
  });
  const row = r.rows[0];
  return row && { size: Number(row.size), note: noteOfRow(origin, Number(row.size), row) };
}

/** The text of the last checkpoint kept under `origin`, if any. */
async function latestNote(q: pg.Pool | pg.PoolClient, tid: number, origin: string): Promise<string | undefined> {
  return (await latestCheckpoint(q, tid, origin))?.note;
}

/** A tenant's `entry_seqs` row as the append lock returns it. */
export interface TreeHeadRow {
  last_seq: string;
  tree_size: string;
  tree_partial: Buffer;
  tree_peaks: Buffer;
  tree_note: string | null;
}

/** A run of the sequence → leaf map. */
export interface SeqRun {
  readonly firstSeq: number;
  readonly firstLeaf: number;
  readonly n: number;
}

/** What an append writes besides the entries (the parameters of TREE_WRITES_SQL's part). */
export interface TreeWrite {
  readonly size: number;
  readonly partial: Buffer;
  readonly peaks: Buffer;
  /** The checkpoint signed for `size`. */
  readonly origin: string;
  readonly note: string;
  /** Full level 0 tiles: the first one's number and their records back to back. */
  readonly firstTile: number;
  readonly tiles: Buffer;
  readonly highLevels: number[];
  readonly highNs: number[];
  readonly highHashes: Buffer;
  readonly runs: readonly SeqRun[];
}

/**
 * The CTEs that write a TreeWrite, for a statement whose $1 is the tenant's tid and whose
 * parameters from `$${at}` on are `treeWriteValues(w)`. The tip itself is written by the
 * caller's UPDATE of `entry_seqs` (treeHeadSet).
 */
export function treeWriteCtes(at: number): string {
  const p = (i: number) => `$${at + i}`;
  return `
    tree_t AS (
      INSERT INTO tree_tiles (tid, tile, records)
      SELECT $1, ${p(0)}::int8 + i, substring(${p(1)}::bytea FROM i * ${TILE_WIDTH * LEAF_RECORD_BYTES} + 1 FOR ${TILE_WIDTH * LEAF_RECORD_BYTES})
      FROM generate_series(0, octet_length(${p(1)}::bytea) / ${TILE_WIDTH * LEAF_RECORD_BYTES} - 1) AS i
    ), tree_h AS (
      INSERT INTO tree_high (tid, level, n, hash)
      SELECT $1, u.l, u.n, substring(${p(4)}::bytea FROM (u.o::int - 1) * ${HASH_SIZE} + 1 FOR ${HASH_SIZE})
      FROM unnest(${p(2)}::int2[], ${p(3)}::int8[]) WITH ORDINALITY AS u (l, n, o)
    ), ${checkpointCtes('$1', p(5), p(6), p(11), p(12), p(7))}, tree_r1 AS (
      UPDATE tree_runs SET n = n + (${p(10)}::int8[])[1]
      WHERE tid = $1 AND first_seq = (SELECT max(first_seq) FROM tree_runs WHERE tid = $1)
        AND first_seq + n = (${p(8)}::int8[])[1] AND first_leaf + n = (${p(9)}::int8[])[1]
      RETURNING 1
    ), tree_r2 AS (
      INSERT INTO tree_runs (tid, first_seq, first_leaf, n)
      SELECT $1, u.s, u.l, u.n FROM unnest(${p(8)}::int8[], ${p(9)}::int8[], ${p(10)}::int8[]) WITH ORDINALITY AS u (s, l, n, o)
      WHERE u.o > 1 OR NOT EXISTS (SELECT FROM tree_r1)
    )`;
}

/**
 * The CTEs that keep a checkpoint (../tree-checkpoint-rows.ts), numbering its origin when it is
 * the first of it (only then: a conflicting insert would still draw a number); the arguments
 * are SQL expressions. Appends of one tenant hold its row lock, so its origins are numbered one
 * at a time.
 */
function checkpointCtes(tid: string, origin: string, size: string, root: string, sig: string, note: string): string {
  return `tree_o AS (
      INSERT INTO tree_origins (tid, origin)
      SELECT ${tid}, ${origin}::text WHERE NOT EXISTS (SELECT FROM tree_origins WHERE tid = ${tid} AND origin = ${origin}::text)
      RETURNING oid
    ), tree_c AS (
      INSERT INTO tree_checkpoints (tid, oid, size, root, sig, note)
      SELECT ${tid}, coalesce((SELECT oid FROM tree_o), (SELECT oid FROM tree_origins WHERE tid = ${tid} AND origin = ${origin}::text)),
        ${size}::int8, ${root}::bytea, ${sig}::bytea, ${note}::text
    )`;
}

/** How many parameters treeWriteValues gives. */
export const TREE_WRITE_PARAMETERS = 13;

/** The SET list of `entry_seqs` for the new tip, parameters `$${at}` … `$${at + 3}`. */
export function treeHeadSet(at: number): string {
  return `tree_size = $${at}::int8, tree_partial = $${at + 1}::bytea, tree_peaks = $${at + 2}::bytea, tree_note = $${at + 3}::text`;
}

export function treeHeadValues(w: TreeWrite): unknown[] {
  return [w.size, w.partial, w.peaks, w.note];
}

export function treeWriteValues(w: TreeWrite): unknown[] {
  const kept = checkpointRow(w.origin, w.size, w.note);
  return [
    w.firstTile,
    w.tiles,
    w.highLevels,
    w.highNs,
    w.highHashes,
    w.origin,
    w.size,
    kept.note,
    w.runs.map((r) => r.firstSeq),
    w.runs.map((r) => r.firstLeaf),
    w.runs.map((r) => r.n),
    kept.root,
    kept.sig,
  ];
}

/** Maps increasing `seqs` to leaves `firstLeaf`, `firstLeaf + 1`, … as runs of consecutive sequences. */
export function runsOf(seqs: readonly number[], firstLeaf: number): SeqRun[] {
  const runs: SeqRun[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i + 1;
    while (j < seqs.length && seqs[j] === seqs[j - 1]! + 1) j++;
    runs.push({ firstSeq: seqs[i]!, firstLeaf: firstLeaf + i, n: j - i });
    i = j;
  }
  return runs;
}

/** The complete level 8+ subtrees left of the partial tile of a tree of `size` leaves, left to right. */
export function peakCoordinates(size: number): { level: number; n: number }[] {
  const tiles = Math.floor(size / TILE_WIDTH);
  const out: { level: number; n: number }[] = [];
  for (let k = 52; k >= 0; k--) {
    const q = Math.floor(tiles / 2 ** k);
    if (q % 2 === 1) out.push({ level: TREE_HIGH_LEVEL + k, n: q - 1 });
  }
  return out;
}

function highKey(level: number, n: number): string {
  return `${level}/${n}`;
}

/** A checkpoint as this process knows it committed: its origin, size and root. */
interface SeenCheckpoint {
  readonly size: number;
  readonly root: Hash;
}

export class PostgresTree {
  private readonly cache = new LeafHashCache();
  /** The last checkpoint note checked per tenant, so its signature is checked once. */
  private readonly opened = new Map<number, { note: string; checkpoint: Checkpoint }>();
  /**
   * Per origin, the largest checkpoint this process knows the database committed (signed by
   * it, or read under the tenant's lock). The database has no witness outside itself: one
   * restored from a backup, or to an earlier point in time, holds an earlier log, and signing
   * over it would contradict what verifiers saw. A process that saw more refuses to.
   */
  private readonly seen = new Map<string, SeenCheckpoint>();
  /** The checkpoint each connection's open transaction signed, known committed once the caller says so. */
  private readonly signing = new WeakMap<pg.PoolClient, { origin: string } & SeenCheckpoint>();

  /** Origins whose witnessed checkpoint this process has taken into `seen`. */
  private readonly witnessed = new Set<string>();

  constructor(
    private readonly pool: pg.Pool,
    readonly keys: LogKeys,
    private readonly typeName: TypeNames,
    /** Loads the names of log types registered since (by other processes). */
    private readonly loadTypeNames: () => Promise<void>,
    /**
     * A witness kept outside the database (../log-witness.ts), when configured: what `seen`
     * learns is recorded there, and what it recorded is known from the first use of an origin
     * on, so a database put back is caught across restarts too.
     */
    private readonly witness: LogWitness | null = null,
    /** Told when the witness cannot be written (it then only lags). */
    private readonly onWitnessError: (err: Error) => void = () => {},
  ) {}

  /** Makes sure every type number the blobs of records hold has its name at hand. */
  private async knowTypes(blobs: Iterable<Buffer>): Promise<void> {
    for (const blob of blobs) {
      for (let at = 0; at + LEAF_RECORD_BYTES <= blob.length; at += LEAF_RECORD_BYTES) {
        const typeId = blob.readUInt32BE(at);
        if (typeId === RECEIPT_TYPE_ID) continue;
        try {
          this.typeName(typeId);
        } catch {
          await this.loadTypeNames();
          return;
        }
      }
    }
  }

  /** A stored checkpoint note, its signature checked with the tenant's key (once per distinct note). */
  private open(tid: number, tenantId: string, note: string): Checkpoint {
    const cached = this.opened.get(tid);
    if (cached && cached.note === note) return cached.checkpoint;
    let checkpoint: Checkpoint;
    try {
      checkpoint = openCheckpoint(note, this.keys.signer(tenantId).verifier).checkpoint;
    } catch (err) {
      throw unopenedCheckpoint(this.keys.origin(tenantId), note.split('\n')[1] ?? '?', err);
    }
    this.opened.set(tid, { note, checkpoint });
    return checkpoint;
  }

  /**
   * Inside the append transaction, with the tenant's row locked (`head` as the lock returned
   * it): the writes that append `records` (leaf hashes `leafHashes`, computed beforehand) for
   * entries stored with sequences `seqs`, and the checkpoint signed for the new size.
   */
  async append(
    client: pg.PoolClient,
    tid: number,
    tenantId: string,
    head: TreeHeadRow,
    records: readonly LeafRecord[],
    leafHashes: readonly Hash[],
    seqs: readonly number[],
  ): Promise<TreeWrite> {
    const tip: TreeTip = { size: Number(head.tree_size), partial: head.tree_partial };
    const tipTile = Math.floor(tip.size / TILE_WIDTH);
    await this.knowTypes([tip.partial]);
    const partialHashes = this.cache.hashes(tid, tipTile, tip.partial, this.typeName);
    const peaks = this.peaks(tip.size, head.tree_peaks);
    const all = partialHashes.concat(leafHashes);
    const w = appendToTree(
      tip,
      records,
      (tile) => tileRootOf(all.slice((tile - tipTile) * TILE_WIDTH, (tile - tipTile + 1) * TILE_WIDTH)),
      (level, n) => {
        const h = peaks.get(highKey(level, n));
        if (!h) throw new Error(`tree hash ${level}/${n} of tenant ${tid} is not in its tip`);
        return h;
      },
    );
    const high = new Map(peaks);
    for (const h of w.high) high.set(highKey(h.level, h.n), h.hash);
    const newPartialHashes = all.slice(w.fullTiles.length * TILE_WIDTH);
    const root = (size: number, partial: readonly Hash[]): Hash =>
      treeRoot(size, {
        leafHashes: () => partial,
        high: (level, n) => {
          const h = high.get(highKey(level, n));
          if (!h) throw new Error(`tree hash ${level}/${n} of tenant ${tid} is not in its tip`);
          return h;
        },
      });
    const origin = this.keys.origin(tenantId);
    let previous = await this.previous(client, tid, tenantId, head);
    if (previous && previous.size !== tip.size) {
      // Checked here against the stored hashes; signNextCheckpointNow then needs the tip's roots only.
      await this.checkEarlier(client, tid, previous, w.size);
      previous = null;
    }
    const next = signNextCheckpointNow({
      origin,
      size: w.size,
      root: (size) => {
        if (size === w.size) return root(w.size, newPartialHashes);
        if (size === tip.size) return root(tip.size, partialHashes);
        throw new Error(`no root at size ${size} in the tip`);
      },
      signer: this.keys.signer(tenantId),
      previous,
    });
    this.opened.set(tid, { note: next.note, checkpoint: next.checkpoint });
    this.signing.set(client, { origin, size: next.checkpoint.size, root: next.checkpoint.rootHash });
    const newPeaks = peakCoordinates(w.size).map(({ level, n }) => high.get(highKey(level, n))!);
    return {
      size: w.size,
      partial: w.partial,
      peaks: Buffer.concat(newPeaks),
      origin,
      note: next.note,
      firstTile: tipTile,
      tiles: Buffer.concat(w.fullTiles.map((t) => t.records)),
      highLevels: w.high.map((h) => h.level),
      highNs: w.high.map((h) => h.n),
      highHashes: Buffer.concat(w.high.map((h) => h.hash)),
      runs: runsOf(seqs, tip.size),
    };
  }

  /**
   * Inside the purge's transaction, with the tenant's row locked (`head`): appends a deletion
   * receipt leaf, its text kept in `tree_receipts`, with the checkpoint of the new size.
   * Returns the receipt's leaf index.
   */
  async appendReceipt(client: pg.PoolClient, tid: number, tenantId: string, head: TreeHeadRow, text: string, deletedAtMs: number): Promise<number> {
    return (await this.appendReceipts(client, tid, tenantId, head, [text], deletedAtMs))[0]!;
  }

  /**
   * As appendReceipt for several receipts at once (a month dropped whole): consecutive leaves,
   * one write and one checkpoint, so the tenant's row is held for one round trip, not one per
   * receipt. Returns their leaf indexes in the order given.
   */
  async appendReceipts(
    client: pg.PoolClient,
    tid: number,
    tenantId: string,
    head: TreeHeadRow,
    texts: readonly string[],
    deletedAtMs: number,
  ): Promise<number[]> {
    const records = texts.map((text) => receiptRecordOf(text, deletedAtMs));
    const w = await this.append(
      client,
      tid,
      tenantId,
      head,
      records,
      records.map((r) => r.digest),
      [],
    );
    const first = Number(head.tree_size);
    await client.query({
      name: 'lw_tree_receipts',
      text: `WITH s AS (UPDATE entry_seqs SET ${treeHeadSet(2)} WHERE tid = $1), ${treeWriteCtes(6)}
             INSERT INTO tree_receipts (tid, leaf, text, trailed)
             SELECT $1, $${6 + TREE_WRITE_PARAMETERS}::int8 + u.i - 1, u.t, false FROM unnest($${7 + TREE_WRITE_PARAMETERS}::text[]) WITH ORDINALITY AS u (t, i)`,
      values: [tid, ...treeHeadValues(w), ...treeWriteValues(w), first, texts],
    });
    return texts.map((_, i) => first + i);
  }

  /** The leaf hashes of the given leaves, read through `client`. */
  async leafHashesAt(client: pg.PoolClient, tid: number, leaves: readonly number[]): Promise<Hash[]> {
    const tiles = [...new Set(leaves.map((leaf) => Math.floor(leaf / TILE_WIDTH)))];
    const source = await this.fetch(client, tid, { tiles, high: [] });
    return leaves.map((leaf) => source.leafHashes(Math.floor(leaf / TILE_WIDTH))[leaf % TILE_WIDTH]!);
  }

  /** The peaks a tip row holds, checked against its size. */
  private peaks(size: number, blob: Buffer): Map<string, Hash> {
    const coords = peakCoordinates(size);
    if (blob.length !== coords.length * HASH_SIZE)
      throw new Error(`the tree tip of size ${size} holds ${blob.length / HASH_SIZE} peaks, not ${coords.length}`);
    const out = new Map<string, Hash>();
    coords.forEach(({ level, n }, i) => out.set(highKey(level, n), new Uint8Array(blob.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))));
    return out;
  }

  /** The last checkpoint signed under the tenant's origin (after the lock: a fresh snapshot). */
  private async previous(client: pg.PoolClient, tid: number, tenantId: string, head: TreeHeadRow): Promise<Checkpoint | null> {
    const origin = this.keys.origin(tenantId);
    let previous: Checkpoint | null;
    // The tip's note, unless it is of an origin left (a checkpoint of another origin does not open with this origin's key).
    if (head.tree_note !== null && head.tree_note.startsWith(`${origin}\n`)) previous = this.open(tid, tenantId, head.tree_note);
    else {
      const note = await latestNote(client, tid, origin);
      previous = note === undefined ? null : this.open(tid, tenantId, note);
    }
    this.holdAgainstSeen(origin, previous);
    if (previous) this.see(origin, previous.size, previous.rootHash);
    return previous;
  }

  /**
   * The database's last checkpoint of `origin` (read under the tenant's lock) against the
   * largest this process saw committed. Smaller (or none), or as large with another root, is a
   * database put back to an earlier state: nothing is signed over it. A checkpoint another
   * process signed over such a state at a larger size is not caught here (that would take
   * reading the stored tree at the size seen on every append); verifiers that saw the later
   * checkpoints report it as a fork.
   */
  private holdAgainstSeen(origin: string, last: Checkpoint | null): void {
    if (this.witness && !this.witnessed.has(origin)) {
      const w = this.witness.signed(origin);
      if (w) this.see(origin, w.size, w.root, false);
      this.witnessed.add(origin);
    }
    const seen = this.seen.get(origin);
    if (!seen) return;
    const size = last?.size ?? 0;
    if (seen.size === 0 || seen.size < size || (seen.size === size && last !== null && hashesEqual(seen.root, last.rootHash))) return;
    throw new StoreRolledBackError(
      `the database holds an earlier state of the log of ${origin} than this server saw committed: its last checkpoint is of size ${size}, ` +
        `but this server saw one of size ${seen.size}${seen.size === size ? ' with another root' : ''} (the database restored from a backup or to an earlier point in time?). ` +
        `Signing on would contradict checkpoints verifiers may have seen, so this server signs nothing for it. Put back a newer copy; ` +
        `or begin a new series of checkpoints with a new LOGWARDEN_LOG_ORIGIN_PREFIX; or, to go on from this state knowing verifiers ` +
        `that saw later checkpoints will report a fork, restart the servers${this.witness ? ` after deleting ${this.witness.path}` : ''}`,
    );
  }

  /** Notes a checkpoint known committed (and records it with the witness, unless it came from there). */
  private see(origin: string, size: number, root: Hash, record = true): void {
    const seen = this.seen.get(origin);
    if (seen !== undefined && seen.size >= size) return;
    this.seen.set(origin, { size, root: new Uint8Array(root) });
    if (!record || !this.witness) return;
    try {
      const tenantId = origin.slice(this.keys.originPrefix.length + 1);
      this.witness.record([{ origin, size, root, key: this.keys.verifierKey(tenantId) }]);
    } catch (err) {
      this.onWitnessError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Store.checkLogs, with a witness: every origin of this store's prefix the witness saw signed
   * (with the key this store signs it with) against the database. A tenant the database lacks,
   * or whose last checkpoint is smaller, or as large with another root, is a database put back
   * to an earlier state: the store does not open.
   */
  async checkWitnessed(tidOf: (tenantId: string) => Promise<number | null>): Promise<void> {
    if (!this.witness) return;
    const prefix = this.keys.originPrefix;
    for (const seen of this.witness.signedUnder(prefix)) {
      const tenantId = seen.origin.slice(prefix.length + 1);
      if (seen.key !== this.keys.verifierKey(tenantId)) continue;
      const tid = await tidOf(tenantId);
      if (tid === null) {
        throw new StoreRolledBackError(
          `the database holds no tenant ${tenantId}, whose log ${seen.origin} was signed up to size ${seen.size} (a backup from before the tenant was created put back?). ` +
            `Its entries are not here, and signing its log again would contradict checkpoints verifiers may have seen, so the store does not open. ` +
            `Put back a newer copy; or begin a new series of checkpoints with a new LOGWARDEN_LOG_ORIGIN_PREFIX; ` +
            `or, to go on without that tenant's entries, knowing verifiers that saw its checkpoints will report a fork if it is created again, delete ${this.witness.path}`,
        );
      }
      const note = await latestNote(this.pool, tid, seen.origin);
      this.holdAgainstSeen(seen.origin, note === undefined ? null : this.open(tid, tenantId, note));
    }
  }

  /** After `client`'s transaction committed: what it signed is known committed. */
  committed(client: pg.PoolClient): void {
    const signed = this.signing.get(client);
    if (signed === undefined) return;
    this.signing.delete(client);
    this.see(signed.origin, signed.size, signed.root);
  }

  /**
   * Checks a previous checkpoint at a size other than the tip's (its origin's series was left
   * and resumed) against the stored hashes: the stored tree at its size must have its root.
   */
  private async checkEarlier(client: pg.PoolClient, tid: number, previous: Checkpoint, size: number): Promise<void> {
    if (size < previous.size) throw new InconsistentTreeError(`tree size ${size} is smaller than the last signed size ${previous.size}`);
    if (previous.size === 0) return;
    const then = foldRange(await treeHashReader((needs) => this.fetch(client, tid, needs))(rangeStoredIndexes({ lo: 0, hi: previous.size })));
    if (!hashesEqual(then, previous.rootHash)) {
      throw new InconsistentTreeError(`the stored tree at size ${previous.size} no longer has the root of the last signed checkpoint`);
    }
  }

  /** Reads what `needs` lists, and the tip, in one statement (one snapshot). */
  private async fetch(q: pg.Pool | pg.PoolClient, tid: number, needs: TreeHashNeeds): Promise<TreeHashSource> {
    const r = await q.query<{ k: string; a: string; b: string; v: Buffer }>({
      name: 'lw_tree_fetch',
      text: `
        SELECT 't' AS k, tile AS a, 0::int8 AS b, records AS v FROM tree_tiles WHERE tid = $1 AND tile = ANY($2::int8[])
        UNION ALL SELECT 'h', level, n, hash FROM tree_high WHERE tid = $1 AND (level, n) IN (SELECT * FROM unnest($3::int2[], $4::int8[]))
        UNION ALL SELECT 'p', tree_size, 0, tree_partial FROM entry_seqs WHERE tid = $1`,
      values: [tid, needs.tiles, needs.high.map((h) => h.level), needs.high.map((h) => h.n)],
    });
    const tiles = new Map<number, Buffer>();
    const high = new Map<string, Hash>();
    let size = 0;
    let partial: Buffer = Buffer.alloc(0);
    for (const row of r.rows) {
      if (row.k === 't') tiles.set(Number(row.a), row.v);
      else if (row.k === 'h') high.set(highKey(Number(row.a), Number(row.b)), new Uint8Array(row.v));
      else {
        size = Number(row.a);
        partial = row.v;
      }
    }
    await this.knowTypes([...tiles.values(), partial]);
    return {
      leafHashes: (tile) => {
        let records = tiles.get(tile);
        if (records === undefined) {
          if (Math.floor(size / TILE_WIDTH) !== tile) throw new Error(`level 0 tile ${tile} of tenant ${tid} is not stored`);
          records = partial;
        }
        return this.cache.hashes(tid, tile, records, this.typeName);
      },
      high: (level, n) => {
        const h = high.get(highKey(level, n));
        if (!h) throw new Error(`tree hash ${level}/${n} of tenant ${tid} is not stored`);
        return h;
      },
    };
  }

  /** Whether the tenant has a checkpoint under its origin. */
  async hasCheckpoint(tid: number, tenantId: string): Promise<boolean> {
    return (await latestNote(this.pool, tid, this.keys.origin(tenantId))) !== undefined;
  }

  /** The tenant's log as of its latest checkpoint under its origin (signing the first one when there is none). */
  async log(tid: number, tenantId: string): Promise<TenantLog> {
    const origin = this.keys.origin(tenantId);
    let note = await latestNote(this.pool, tid, origin);
    let checkpoint = note === undefined ? undefined : this.open(tid, tenantId, note);
    if (note === undefined || !checkpoint) ({ note, checkpoint } = await this.signTip(tid, tenantId));
    else this.see(origin, checkpoint.size, checkpoint.rootHash);
    const signed: SignedTreeHead = { size: checkpoint.size, rootHash: checkpoint.rootHash, note };
    return {
      origin,
      verifierKey: this.keys.verifierKey(tenantId),
      checkpoint: signed,
      reader: treeHashReader((needs) => this.fetch(this.pool, tid, needs)),
      leaves: (start, count) => this.leafTexts(tid, start, count),
    };
  }

  /** Signs the current tip under the tenant's origin unless a checkpoint exists there, with the tenant locked. */
  private async signTip(tid: number, tenantId: string): Promise<{ note: string; checkpoint: Checkpoint }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const h = await client.query<TreeHeadRow>({
        name: 'lw_tree_lock',
        text: 'SELECT last_seq, tree_size, tree_partial, tree_peaks, tree_note FROM entry_seqs WHERE tid = $1 FOR UPDATE',
        values: [tid],
      });
      const head = h.rows[0]!;
      const previous = await this.previous(client, tid, tenantId, head);
      let out: { note: string; checkpoint: Checkpoint };
      if (previous && previous.size === Number(head.tree_size)) {
        // Signed meanwhile by another append or process.
        out = { note: this.opened.get(tid)!.note, checkpoint: previous };
      } else {
        const w = await this.append(client, tid, tenantId, head, [], [], []);
        const kept = checkpointRow(w.origin, w.size, w.note);
        await client.query({
          name: 'lw_tree_sign_tip',
          text: `WITH s AS (UPDATE entry_seqs SET tree_note = $2 WHERE tid = $1), ${checkpointCtes('$1', '$3', '$4', '$5', '$6', '$7')}
                 SELECT 1`,
          values: [tid, w.note, w.origin, w.size, kept.root, kept.sig, kept.note],
        });
        out = { note: w.note, checkpoint: this.opened.get(tid)!.checkpoint };
      }
      await client.query('COMMIT');
      this.committed(client);
      return out;
    } catch (err) {
      // Not after a statement left unanswered: its connection is closed instead (pool.ts).
      if (!isUnanswered(err)) await client.query('ROLLBACK').catch(() => {});
      this.rolledBack(client);
      throw err;
    } finally {
      client.release();
    }
  }

  private async leafTexts(tid: number, start: number, count: number): Promise<string[]> {
    if (count === 0) return [];
    const first = Math.floor(start / TILE_WIDTH);
    const last = Math.floor((start + count - 1) / TILE_WIDTH);
    const r = await this.pool.query<{ tile: string | null; records: Buffer; size: string }>({
      name: 'lw_tree_leaves',
      text: `SELECT tile, records, 0::int8 AS size FROM tree_tiles WHERE tid = $1 AND tile BETWEEN $2 AND $3
             UNION ALL SELECT NULL, tree_partial, tree_size FROM entry_seqs WHERE tid = $1`,
      values: [tid, first, last],
    });
    const tiles = new Map<number, Buffer>();
    let size = 0;
    let partial: Buffer = Buffer.alloc(0);
    for (const row of r.rows) {
      if (row.tile === null) {
        size = Number(row.size);
        partial = row.records;
      } else tiles.set(Number(row.tile), row.records);
    }
    await this.knowTypes([...tiles.values(), partial]);
    if (start < 0 || count < 0 || start + count > size) throw new RangeError(`leaves [${start}, ${start + count}) are beyond the tree`);
    const out: string[] = [];
    const receipts: number[] = [];
    for (let leaf = start; leaf < start + count; leaf++) {
      const tile = Math.floor(leaf / TILE_WIDTH);
      const records = tiles.get(tile) ?? partial;
      const record = readLeafRecord(records, leaf - tile * TILE_WIDTH);
      if (isReceiptRecord(record)) receipts.push(leaf);
      out.push(isReceiptRecord(record) ? '' : leafText(record, this.typeName));
    }
    if (receipts.length > 0) {
      const t = await this.pool.query<{ leaf: string; text: string }>(
        'SELECT leaf, text FROM tree_receipts WHERE tid = $1 AND leaf = ANY($2::int8[])',
        [tid, receipts],
      );
      const texts = new Map(t.rows.map((row) => [Number(row.leaf), row.text]));
      for (const leaf of receipts) {
        const text = texts.get(leaf);
        if (text === undefined) throw new Error(`the deletion receipt of leaf ${leaf} of tenant ${tid} is not stored`);
        out[leaf - start] = text;
      }
    }
    return out;
  }

  /** The leaf of each sequence; -1 where there is none (read through `client` when given: the purge's transaction). */
  async leafIndexes(tid: number, seqs: readonly number[], client?: pg.PoolClient): Promise<number[]> {
    if (seqs.length === 0) return [];
    const r = await (client ?? this.pool).query<{ leaf: string }>({
      name: 'lw_tree_leaf_indexes',
      text: `
        SELECT coalesce((SELECT CASE WHEN q.s < r.first_seq + r.n THEN r.first_leaf + (q.s - r.first_seq) END
                         FROM tree_runs r WHERE r.tid = $1 AND r.first_seq <= q.s ORDER BY r.first_seq DESC LIMIT 1), -1) AS leaf
        FROM unnest($2::int8[]) WITH ORDINALITY AS q (s, i) ORDER BY q.i`,
      values: [tid, seqs],
    });
    return r.rows.map((row) => Number(row.leaf));
  }

  /** Forgets cached state that a rolled-back transaction (of `client`, when given) may have left. */
  rolledBack(client?: pg.PoolClient): void {
    this.opened.clear();
    if (client) this.signing.delete(client);
  }
}
