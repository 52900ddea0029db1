/**
 * What the verifiable log signed, kept in a file of its own (`log-witness.db`, beside the
 * SQLite database unless configured elsewhere): per origin, the largest checkpoint signed and its root. A backup of
 * `logwarden.db` put back in its place holds an earlier log, whose next checkpoint would
 * contradict those signed since the backup was made (a fork, to every verifier that saw them);
 * the witness, which the restore left as it was, tells, and nothing is signed over it.
 *
 * It is written after the transaction that signed commits, only for checkpoints the database
 * holds, so it never runs ahead of the database (a crash between the two leaves it behind,
 * which only makes it see less).
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const WITNESS_FILE = 'log-witness.db';

export interface Witnessed {
  readonly size: number;
  readonly root: Buffer;
}

/** A witnessed origin with the verifier key that signed it (null: recorded before keys were kept). */
export interface WitnessedOrigin extends Witnessed {
  readonly origin: string;
  readonly key: string | null;
}

export class LogWitness {
  private readonly db: Database.Database;
  private readonly q;

  constructor(dir: string) {
    const path = join(dir, WITNESS_FILE);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Owner-only, as every file of the data directory (SQLite gives its -wal and -shm this file's mode).
      try {
        closeSync(openSync(path, 'wx', 0o600));
        chmodSync(path, 0o600);
      } catch {
        // Already there (prepareDataDir tightened it), or SQLite says below why it cannot be opened.
      }
      this.db = new Database(path);
      try {
        this.db.pragma('journal_mode = WAL');
        // Losing the last writes to a power cut only makes the witness see less.
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('busy_timeout = 10000');
        this.db.exec('CREATE TABLE IF NOT EXISTS signed (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL) WITHOUT ROWID');
        // The verifier key, so that an origin the database lost can be told from another deployment's.
        const columns = this.db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('signed')").all();
        if (!columns.some((c) => c.name === 'key')) this.db.exec('ALTER TABLE signed ADD COLUMN key TEXT');
      } catch (err) {
        this.db.close();
        throw err;
      }
      this.q = {
        get: this.db.prepare<[string], Witnessed>('SELECT size, root FROM signed WHERE origin = ?'),
        put: this.db.prepare<[string, number, Buffer, string]>(
          `INSERT INTO signed (origin, size, root, key) VALUES (?, ?, ?, ?)
           ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, key = excluded.key WHERE excluded.size > signed.size`,
        ),
        anyUnder: this.db.prepare<[string, string], number>('SELECT 1 FROM signed WHERE origin > ? AND origin < ? LIMIT 1').pluck(),
        under: this.db.prepare<[string, string], WitnessedOrigin>(
          'SELECT origin, size, root, key FROM signed WHERE origin > ? AND origin < ? ORDER BY origin',
        ),
      };
    } catch (err) {
      // Said with the file it was about: the start-up message then names the witness, not logwarden.db.
      if (typeof err === 'object' && err !== null) Object.assign(err, { witnessFile: path });
      throw err;
    }
  }

  get path(): string {
    return this.db.name;
  }

  /** The largest checkpoint of `origin` signed, as far as the witness knows. */
  signed(origin: string): Witnessed | undefined {
    return this.q.get.get(origin);
  }

  /** Every origin `<prefix>/…` the witness saw signed. */
  signedUnder(prefix: string): WitnessedOrigin[] {
    // '0' follows '/': the range holds exactly the origins that begin with `<prefix>/`.
    return this.q.under.all(`${prefix}/`, `${prefix}0`);
  }

  /**
   * Said when the store has signed checkpoints under `prefix` and the witness knows none of
   * them: it was deleted, replaced by another store's, or is older than they are. Nothing is
   * wrong with the store, but a copy of it put back from an earlier state than was signed
   * could not be told until the witness has recorded checkpoints again (each tenant's next
   * stored entry records its own). Undefined when the witness knows some.
   */
  unawareOf(prefix: string): string | undefined {
    if (this.q.anyUnder.get(`${prefix}/`, `${prefix}0`) !== undefined) return undefined;
    return (
      `${this.path} holds no checkpoint this store signed: it was deleted, replaced, or made after them. ` +
      'Until each tenant stores a new entry, a copy of the store put back from an earlier state could not be told from the latest one; ' +
      'if the file was moved away, stop every process using the store and put it back'
    );
  }

  /** Records checkpoints the database holds (committed), keeping the largest per origin. */
  record(signed: readonly { origin: string; size: number; root: Uint8Array; key: string }[]): void {
    if (signed.length === 0) return;
    this.db.transaction(() => {
      for (const s of signed) this.q.put.run(s.origin, s.size, Buffer.from(s.root), s.key);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
