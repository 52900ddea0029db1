/**
 * The SQLite store's verifiable log (SPEC §11; layout in ../tree-hashes.ts):
 *
 * - `tree_tiles`: the leaf records of each full level 0 tile, one row per 256 leaves;
 * - `tree_heads`: per tenant, the tree size and the records of the partial tile;
 * - `tree_high`: the hashes at tree level 8 and above;
 * - `tree_checkpoints`: every signed checkpoint, by origin and size, in the compact form of
 *   ../tree-checkpoint-rows.ts; `tree_origins` numbers each tenant's origins;
 * - `tree_runs`: which leaves the entries' sequences map to, as runs of consecutive sequences
 *   appended as consecutive leaves (a batch appends its accepted entries with consecutive
 *   sequences, since SQLite admits one writer at a time): one row per batch at most, usually
 *   one per tenant switch. Sealing keeps an entry's sequence, so the map holds for hot and
 *   sealed entries alike.
 *
 * All of it is written in the transaction that appends the entries, including the checkpoint
 * for the new size, signed only if the stored tree still has the last checkpoint's root.
 */
import type Database from 'better-sqlite3';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../../tlog/checkpoint.ts';
import { TILE_WIDTH } from '../../tlog/tile.ts';
import type { LogWitness, Witnessed } from '../log-witness.ts';
import { type SignedTreeHead, StoreRolledBackError, type TenantLog } from '../store.ts';
import { appendToTree, type TreeTip, tileRootOf } from '../tree-append.ts';
import { signNextCheckpointNow, unopenedCheckpoint } from '../tree-checkpoint.ts';
import { type CheckpointRow, checkpointRow, noteOfRow } from '../tree-checkpoint-rows.ts';
import { LeafHashCache, type TreeHashSource, treeHashReader, treeRoot } from '../tree-hashes.ts';
import type { LogKeys } from '../tree-keys.ts';
import { isReceiptRecord, type LeafRecord, leafText, readLeafRecord, receiptRecordOf, type TypeNames } from '../tree-leaf-records.ts';

type Run = { first_seq: number; first_leaf: number; n: number };

export class SqliteTree {
  private readonly q;
  private readonly cache = new LeafHashCache();
  /** The last checkpoint read per tenant, by its note, so its signature is checked once. */
  private readonly opened = new Map<number, { note: string; checkpoint: Checkpoint }>();
  /** Checkpoints signed by transactions not yet known to have committed (for the witness). */
  private pending: { tid: number; origin: string; size: number; root: Uint8Array; key: string }[] = [];
  /** Origins whose stored log this process has held against the witness. */
  private readonly witnessed = new Set<string>();

  constructor(
    private readonly db: Database.Database,
    readonly keys: LogKeys,
    private readonly typeName: TypeNames,
    private readonly witness: LogWitness | null = null,
    /** Told when the witness cannot be written after a commit. */
    private readonly onWitnessError: (err: Error) => void = () => {},
  ) {
    this.q = {
      head: db.prepare<[number], { size: number; partial: Buffer }>('SELECT size, partial FROM tree_heads WHERE tid = ?'),
      setHead: db.prepare<[number, number, Buffer]>(
        'INSERT INTO tree_heads (tid, size, partial) VALUES (?, ?, ?) ON CONFLICT (tid) DO UPDATE SET size = excluded.size, partial = excluded.partial',
      ),
      tile: db.prepare<[number, number], Buffer>('SELECT records FROM tree_tiles WHERE tid = ? AND tile = ?').pluck(),
      addTile: db.prepare<[number, number, Buffer]>('INSERT INTO tree_tiles (tid, tile, records) VALUES (?, ?, ?)'),
      high: db.prepare<[number, number, number], Buffer>('SELECT hash FROM tree_high WHERE tid = ? AND level = ? AND n = ?').pluck(),
      addHigh: db.prepare<[number, number, number, Buffer]>('INSERT INTO tree_high (tid, level, n, hash) VALUES (?, ?, ?, ?)'),
      latest: db.prepare<[number, string], { size: number } & CheckpointRow>(
        `SELECT c.size, c.root, c.sig, c.note FROM tree_origins o JOIN tree_checkpoints c ON c.tid = o.tid AND c.oid = o.oid
         WHERE o.tid = ? AND o.origin = ? ORDER BY c.size DESC LIMIT 1`,
      ),
      addOrigin: db.prepare<[number, string]>('INSERT INTO tree_origins (tid, origin) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      addCheckpoint: db.prepare<[number, Buffer | null, Buffer | null, string | null, number, string]>(
        `INSERT INTO tree_checkpoints (tid, oid, size, root, sig, note)
         SELECT tid, oid, ?, ?, ?, ? FROM tree_origins WHERE tid = ? AND origin = ?`,
      ),
      hasCheckpoint: db
        .prepare<[number, string, number], number>(
          `SELECT 1 FROM tree_origins o JOIN tree_checkpoints c ON c.tid = o.tid AND c.oid = o.oid
           WHERE o.tid = ? AND o.origin = ? AND c.size = ?`,
        )
        .pluck(),
      lastRun: db.prepare<[number], Run>('SELECT first_seq, first_leaf, n FROM tree_runs WHERE tid = ? ORDER BY first_seq DESC LIMIT 1'),
      runAt: db.prepare<[number, number], Run>(
        'SELECT first_seq, first_leaf, n FROM tree_runs WHERE tid = ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1',
      ),
      addRun: db.prepare<[number, number, number, number]>('INSERT INTO tree_runs (tid, first_seq, first_leaf, n) VALUES (?, ?, ?, ?)'),
      growRun: db.prepare<[number, number, number]>('UPDATE tree_runs SET n = ? WHERE tid = ? AND first_seq = ?'),
      addReceipt: db.prepare<[number, number, string]>('INSERT INTO tree_receipts (tid, leaf, text, trailed) VALUES (?, ?, ?, 0)'),
      receipt: db.prepare<[number, number], string>('SELECT text FROM tree_receipts WHERE tid = ? AND leaf = ?').pluck(),
    };
  }

  private tip(tid: number): TreeTip {
    const h = this.q.head.get(tid);
    return h ? { size: h.size, partial: h.partial } : { size: 0, partial: Buffer.alloc(0) };
  }

  /** Reads hashes as of the database's current state (call inside a transaction for a consistent view). */
  private source(tid: number): TreeHashSource {
    return {
      leafHashes: (tile) => {
        let records = this.q.tile.get(tid, tile);
        if (records === undefined) {
          const tip = this.tip(tid);
          if (Math.floor(tip.size / TILE_WIDTH) !== tile) throw new Error(`level 0 tile ${tile} of tenant ${tid} is not stored`);
          records = tip.partial;
        }
        return this.cache.hashes(tid, tile, records, this.typeName);
      },
      high: (level, n) => {
        const h = this.q.high.get(tid, level, n);
        if (h === undefined) throw new Error(`tree hash ${level}/${n} of tenant ${tid} is not stored`);
        return new Uint8Array(h);
      },
    };
  }

  /**
   * Inside the append transaction: appends the leaves of entries stored with sequences `seqs`
   * (consecutive per batch, but not necessarily) and signs the checkpoint of the new size.
   */
  append(tid: number, tenantId: string, records: readonly LeafRecord[], seqs: readonly number[]): void {
    if (records.length === 0) return;
    const tip = this.tip(tid);
    const source = this.source(tid);
    const w = appendToTree(tip, records, (tile, recs) => tileRootOf(this.cache.hashes(tid, tile, recs, this.typeName)), source.high);
    for (const t of w.fullTiles) this.q.addTile.run(tid, t.tile, t.records);
    for (const h of w.high) this.q.addHigh.run(tid, h.level, h.n, Buffer.from(h.hash));
    this.q.setHead.run(tid, w.size, w.partial);
    this.addRuns(tid, seqs, tip.size);
    this.sign(tid, tenantId, w.size);
  }

  /**
   * Inside the purge's transaction: appends a deletion receipt leaf (its text kept in
   * `tree_receipts`) and signs the checkpoint of the new size; returns the receipt's leaf index.
   */
  appendReceipt(tid: number, tenantId: string, text: string, deletedAtMs: number): number {
    const tip = this.tip(tid);
    this.append(tid, tenantId, [receiptRecordOf(text, deletedAtMs)], []);
    this.q.addReceipt.run(tid, tip.size, text);
    return tip.size;
  }

  /** The leaf hashes of the given leaves (inside a transaction). */
  leafHashesAt(tid: number, leaves: readonly number[]): Uint8Array[] {
    const source = this.source(tid);
    return leaves.map((leaf) => source.leafHashes(Math.floor(leaf / TILE_WIDTH))[leaf % TILE_WIDTH]!);
  }

  /** Maps `seqs` (increasing) to leaves `firstLeaf`, `firstLeaf + 1`, …, extending the last run when contiguous. */
  private addRuns(tid: number, seqs: readonly number[], firstLeaf: number): void {
    let last = this.q.lastRun.get(tid);
    let i = 0;
    while (i < seqs.length) {
      let j = i + 1;
      while (j < seqs.length && seqs[j] === seqs[j - 1]! + 1) j++;
      const seq = seqs[i]!;
      const leaf = firstLeaf + i;
      if (last && last.first_seq + last.n === seq && last.first_leaf + last.n === leaf) {
        last = { ...last, n: last.n + (j - i) };
        this.q.growRun.run(last.n, tid, last.first_seq);
      } else {
        last = { first_seq: seq, first_leaf: leaf, n: j - i };
        this.q.addRun.run(tid, seq, leaf, j - i);
      }
      i = j;
    }
  }

  /**
   * The latest checkpoint signed under the tenant's current origin, its signature checked (once
   * per distinct note): a stored checkpoint edited, or signed by another key under this origin
   * (the signing secret changed), is refused rather than extended.
   */
  private latest(
    tid: number,
    tenantId: string,
    seen = this.witnessOf(this.keys.origin(tenantId)),
  ): { note: string; checkpoint: Checkpoint } | undefined {
    const origin = this.keys.origin(tenantId);
    const row = this.q.latest.get(tid, origin);
    if (row === undefined) {
      this.holdAgainstWitness(origin, undefined, seen);
      return undefined;
    }
    const note = noteOfRow(origin, row.size, row);
    const cached = this.opened.get(tid);
    if (cached && cached.note === note) return cached;
    let checkpoint: Checkpoint;
    try {
      checkpoint = openCheckpoint(note, this.keys.signer(tenantId).verifier).checkpoint;
    } catch (err) {
      throw unopenedCheckpoint(origin, row.size, err);
    }
    this.holdAgainstWitness(origin, checkpoint, seen);
    const opened = { note, checkpoint };
    this.opened.set(tid, opened);
    return opened;
  }

  /**
   * What the witness saw signed of `origin`, while it is still to be held against it. Read
   * before the database: the witness records a checkpoint once it has committed, so read first
   * it never runs ahead of what a read transaction begun after sees (read after, it could hold
   * a checkpoint another process committed since the transaction began, taken for a rollback).
   */
  private witnessOf(origin: string): Witnessed | undefined {
    return this.witness && !this.witnessed.has(origin) ? this.witness.signed(origin) : undefined;
  }

  /**
   * Once per origin and process: the stored log's last checkpoint against `seen`, the largest
   * the witness saw signed (witnessOf, read before). Smaller (or none), or as large with another
   * root, is a store put back to an earlier state: nothing is signed over it, which would
   * contradict what was signed.
   */
  private holdAgainstWitness(origin: string, last: Checkpoint | undefined, seen: Witnessed | undefined): void {
    if (!this.witness || this.witnessed.has(origin)) return;
    const size = last?.size ?? 0;
    if (seen && (seen.size > size || (seen.size === size && last !== undefined && !seen.root.equals(last.rootHash)))) {
      throw new StoreRolledBackError(
        `the store holds an earlier state of the log of ${origin} than it signed: its last checkpoint is of size ${size}, ` +
          `but one of size ${seen.size} was signed (a backup put back? or ${this.db.name}-wal deleted or lost while no process had the store open: ` +
          'it holds the latest commits until SQLite folds them into the database). Signing on would contradict checkpoints verifiers may have seen, ' +
          `so nothing is signed. Put back a newer copy (or that -wal file, beside the database, before any process opens it); or begin a new series of checkpoints with a new LOGWARDEN_LOG_ORIGIN_PREFIX; ` +
          `or, to go on from this state knowing verifiers that saw later checkpoints will report a fork, delete ${this.witness.path}`,
      );
    }
    this.witnessed.add(origin);
  }

  /**
   * Store.checkLogs, inside a read transaction: every tenant's last checkpoint held against the
   * witness (read, not opened: no key derived per tenant), and the first one opened with its
   * tenant's key (every key derives from the one signing secret, so one tells whether it changed).
   * Says whether any tenant has a checkpoint under the current prefix.
   */
  checkAll(tenants: readonly { tid: number; tenantId: string }[]): boolean {
    // Every origin's witness before the first read of the database (witnessOf).
    const seen = new Map(tenants.map(({ tenantId }) => [tenantId, this.witnessOf(this.keys.origin(tenantId))]));
    let opened = false;
    for (const { tid, tenantId } of tenants) {
      const origin = this.keys.origin(tenantId);
      const row = this.q.latest.get(tid, origin);
      if (row !== undefined && !opened) {
        this.latest(tid, tenantId, seen.get(tenantId)); // opened, then held against the witness
        opened = true;
        continue;
      }
      let last: Checkpoint | undefined;
      if (row !== undefined) {
        const note = noteOfRow(origin, row.size, row);
        try {
          last = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
        } catch {
          this.latest(tid, tenantId, seen.get(tenantId)); // says what is wrong with it
        }
      }
      this.holdAgainstWitness(origin, last, seen.get(tenantId));
    }
    return opened;
  }

  /**
   * Store.checkLogs, after checkAll: an origin of this store's prefix that the witness saw
   * signed, whose tenant the database does not hold, is a store put back to before that tenant
   * was created. Its entries are gone, and its next checkpoint would contradict those signed.
   * Such an origin is this store's when the key the witness recorded is the one this store
   * signs it with or, recorded before keys were kept, when the prefix is the database's own
   * (`logwarden/<store id>`, random per database): a fresh database under a configured prefix
   * signs with a key of its own, so the witness of an earlier deployment does not hold it back.
   * `held` reads the database after the witness was read: a tenant another process created
   * meanwhile is seen, since the witness records only what committed.
   */
  checkUnheldOrigins(held: (tenantId: string) => boolean, ownPrefix: boolean): void {
    if (!this.witness) return;
    const prefix = this.keys.originPrefix;
    for (const seen of this.witness.signedUnder(prefix)) {
      const tenantId = seen.origin.slice(prefix.length + 1);
      if (held(tenantId)) continue;
      if (!(seen.key === null ? ownPrefix : seen.key === this.keys.verifierKey(tenantId))) continue;
      throw new StoreRolledBackError(
        `the store holds no tenant ${tenantId}, whose log ${seen.origin} it signed up to size ${seen.size} (a backup from before the tenant was created put back?). ` +
          `Its entries are not here, and signing its log again would contradict checkpoints verifiers may have seen, so the store does not open. ` +
          `Put back a newer copy; or begin a new series of checkpoints with a new LOGWARDEN_LOG_ORIGIN_PREFIX; ` +
          `or, to go on without that tenant's entries, knowing verifiers that saw its checkpoints will report a fork if it is created again, delete ${this.witness.path}`,
      );
    }
  }

  /**
   * After a transaction that signed has committed: the witness records what it signed. Never
   * throws (the transaction did commit): a witness that cannot be written only lags, and
   * `onWitnessError` is told.
   */
  committed(): void {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    try {
      // Only what the database holds: a checkpoint of a transaction that rolled back is not witnessed.
      this.witness?.record(pending.filter((p) => this.q.hasCheckpoint.get(p.tid, p.origin, p.size) !== undefined));
    } catch (err) {
      this.onWitnessError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Inside a write transaction: signs and keeps the checkpoint of `size` unless one exists. */
  private sign(tid: number, tenantId: string, size: number): { note: string; checkpoint: Checkpoint } {
    const previous = this.latest(tid, tenantId);
    if (previous && previous.checkpoint.size === size) return previous;
    const source = this.source(tid);
    const next = signNextCheckpointNow({
      origin: this.keys.origin(tenantId),
      size,
      root: (s) => treeRoot(s, source),
      signer: this.keys.signer(tenantId),
      previous: previous?.checkpoint ?? null,
    });
    const origin = next.checkpoint.origin;
    const row = checkpointRow(origin, size, next.note);
    this.q.addOrigin.run(tid, origin);
    this.q.addCheckpoint.run(size, row.root, row.sig, row.note, tid, origin);
    if (this.witness) this.pending.push({ tid, origin, size, root: next.checkpoint.rootHash, key: this.keys.verifierKey(tenantId) });
    const opened = { note: next.note, checkpoint: next.checkpoint };
    this.opened.set(tid, opened);
    return opened;
  }

  /** The tenant's log as of its latest checkpoint (signing the first one when there is none). */
  log(tid: number, tenantId: string): TenantLog | undefined {
    let head = this.db.transaction(() => this.latest(tid, tenantId)).deferred();
    if (!head) {
      // Read-only (a backup being checked) nothing is signed: a log that signed nothing yet has none to give.
      if (this.db.readonly) return undefined;
      head = this.db.transaction(() => this.sign(tid, tenantId, this.tip(tid).size)).immediate();
      this.committed();
    }
    const { checkpoint, note } = head;
    const signed: SignedTreeHead = { size: checkpoint.size, rootHash: checkpoint.rootHash, note };
    const read = <T>(f: () => T): T => this.db.transaction(f).deferred();
    const source = this.source(tid);
    return {
      origin: this.keys.origin(tenantId),
      verifierKey: this.keys.verifierKey(tenantId),
      checkpoint: signed,
      // One read transaction per call: the partial tile and the tree size read together.
      reader: treeHashReader(() => ({
        leafHashes: (tile) => read(() => source.leafHashes(tile)),
        high: (level, n) => source.high(level, n),
      })),
      leaves: async (start, count) => read(() => this.leafTexts(tid, start, count)),
    };
  }

  private leafTexts(tid: number, start: number, count: number): string[] {
    const out: string[] = [];
    const tip = this.tip(tid);
    if (start < 0 || count < 0 || start + count > tip.size) throw new RangeError(`leaves [${start}, ${start + count}) are beyond the tree`);
    for (let leaf = start; leaf < start + count; ) {
      const tile = Math.floor(leaf / TILE_WIDTH);
      const records = this.q.tile.get(tid, tile) ?? tip.partial;
      const end = Math.min(start + count, (tile + 1) * TILE_WIDTH);
      for (; leaf < end; leaf++) {
        const r = readLeafRecord(records, leaf - tile * TILE_WIDTH);
        if (!isReceiptRecord(r)) out.push(leafText(r, this.typeName));
        else {
          const text = this.q.receipt.get(tid, leaf);
          if (text === undefined) throw new Error(`the deletion receipt of leaf ${leaf} of tenant ${tid} is not stored`);
          out.push(text);
        }
      }
    }
    return out;
  }

  /** The leaf of each sequence; -1 where there is none. */
  leafIndexes(tid: number, seqs: readonly number[]): number[] {
    return seqs.map((seq) => {
      const run = this.q.runAt.get(tid, seq);
      return run && seq < run.first_seq + run.n ? run.first_leaf + (seq - run.first_seq) : -1;
    });
  }

  /**
   * Forgets cached state that a rolled-back transaction may have left: leaf hashes too, which a
   * tile's records map to by their log types' numbers, and the numbers a rolled-back
   * transaction gave new types go to the next types registered, whatever their names.
   */
  rolledBack(): void {
    this.opened.clear();
    this.pending = [];
    this.cache.clear();
  }
}
