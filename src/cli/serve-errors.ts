/**
 * Start-up failures a person can act on: a taken port, a data directory that is a file or not
 * writable, a database file that is not (or no longer) a database, a PostgreSQL server that
 * cannot be reached. Each becomes one line saying what, where and what to do, instead of a
 * raw `EADDRINUSE` or a stack. Anything unrecognised is returned unchanged. The store's part
 * serves every command that opens the store (`tenants`, `keys`, `ingest`, `seed`, `sync`), not
 * only `serve`.
 */
import { accessSync, constants, mkdtempSync, rmdirSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from '../config.ts';
import { CommandError } from './exit-codes.ts';

/** The embedded store's file name (src/store/sqlite keeps it; not imported, so this stays free of the driver). */
export const DATABASE_FILE = 'logwarden.db';

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  /** Set by the store when the failure was about log-witness.db (src/store/log-witness.ts). */
  witnessFile?: unknown;
}

const CAUSES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file',
  EEXIST: 'it is a file, not a directory',
  ENOENT: 'no such file or directory',
  ELOOP: 'too many symbolic links',
};

/** The nearest existing ancestor of `path` that is not a directory, if any. */
export function fileInTheWay(path: string): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? undefined : p;
    } catch {
      // Does not exist: look further up.
    }
    if (dirname(p) === p) return undefined;
  }
}

/** The nearest ancestor of `path` that exists. */
function existingParent(path: string): string | undefined {
  for (let p = dirname(path); ; p = dirname(p)) {
    try {
      statSync(p);
      return p;
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return 'the given address';
  }
}

function listenFailure(e: SystemError, config: Config): string | undefined {
  const at = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `${at} is taken by another program; use --port to choose another port (or stop the other server)`;
    case 'EACCES':
      return `not allowed to listen on ${at} (ports below 1024 need privileges); use --port 8080 or another port from 1024`;
    case 'EADDRNOTAVAIL':
      return `the host ${config.host} (--host or LOGWARDEN_HOST) is not an address of this machine; use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host ${config.host} (--host or LOGWARDEN_HOST) is not a known host name; use an address such as 127.0.0.1 or 0.0.0.0`;
    default:
      return undefined;
  }
}

/**
 * Why SQLite could not open the database file (it says only "unable to open database file"):
 * the file is a folder, or this user may not write the folder (SQLite writes its -wal and -shm
 * there) or may not read and write the file.
 */
function cannotOpen(dir: string, file: string, use: string): string {
  const fix = `${use}, or fix its permissions`;
  try {
    if (statSync(file).isDirectory()) return `${file} is a folder, not a database file; move it away, or ${use}`;
  } catch {
    // No file: the folder is the problem.
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = String((err as SystemError).code);
    if (code === 'EACCES' || code === 'EPERM') {
      return `cannot write to the data directory ${dir} (permission denied: this user may not create files in it); ${fix}`;
    }
    return `cannot write to the data directory ${dir} (${CAUSES[code] ?? code}); ${fixFor(code, use, dir)}`;
  }
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = String((err as SystemError).code);
    if (code === 'EACCES' || code === 'EPERM') return `${file} cannot be read and written by this user (permission denied); ${fix}`;
    if (code !== 'ENOENT') return `${file} cannot be read and written (${CAUSES[code] ?? code}); ${fixFor(code, use, dir)}`;
  }
  return `cannot open ${file} (it must be a file this user can read and write, in a directory it can write); ${fix}`;
}

/** What to do about a data directory the system will not let us write, by the system's reason. */
function fixFor(code: string, use: string, dir: string): string {
  // No permission makes a read-only mount writable: systemd's ProtectSystem=strict is the usual one.
  if (code === 'EROFS') return `${use}, or mount it writable (under systemd's ProtectSystem=strict: ReadWritePaths=${dir})`;
  return `${use}, or fix its permissions`;
}

/** The options a store was given by, as a failure to open it names them (another command's, such as copy's target, differ). */
export interface StoreOptionNames {
  readonly dataDir: string;
  readonly databaseUrl: string;
}

const SERVER_OPTIONS: StoreOptionNames = { dataDir: '--data-dir (or LOGWARDEN_DATA_DIR)', databaseUrl: '--database-url (or LOGWARDEN_DATABASE_URL)' };

function dataDirFailure(e: SystemError, config: Pick<Config, 'dataDir'>, names: StoreOptionNames): string | undefined {
  const code = typeof e.code === 'string' ? e.code : '';
  const dir = config.dataDir;
  const file = join(dir, DATABASE_FILE);
  const use = `use ${names.dataDir} to choose another directory`;
  if (code === 'EEXIST' || code === 'ENOTDIR') {
    const blocker = fileInTheWay(dir);
    if (blocker === dir) return `the data directory ${dir} is a file, not a directory; ${use}`;
    if (blocker !== undefined) return `cannot create the data directory ${dir}: ${blocker} is a file; ${use}`;
  }
  if (code === 'ENOENT' && e.syscall === 'mkdir') {
    // A recursive mkdir under a folder it may not write says ENOENT (on a read-only mount):
    // the folder that exists is asked why.
    const parent = existingParent(dir);
    try {
      if (parent !== undefined) accessSync(parent, constants.W_OK);
    } catch (err) {
      const why = String((err as SystemError).code);
      if (why in CAUSES) return `cannot create the data directory ${dir} (${parent}: ${CAUSES[why]}); ${fixFor(why, use, parent!)}`;
    }
  }
  if (code in CAUSES && typeof e.syscall === 'string' && typeof e.path === 'string') {
    const where = e.path === dir ? '' : `${e.path}: `;
    return `cannot write to the data directory ${dir} (${where}${CAUSES[code]}); ${fixFor(code, use, dir)}`;
  }
  if (typeof e.witnessFile === 'string') return witnessFailure(code, e.witnessFile, use);
  switch (sqliteCode(code)) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return (
        `${file} is not a readable logwarden database (${code === 'SQLITE_NOTADB' ? 'not an SQLite file' : 'damaged'}); ` +
        `restore it from a backup, or move it away to start an empty store (${use})`
      );
    case 'SQLITE_CANTOPEN':
      return cannotOpen(dir, file, use);
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return `${file} cannot be written (read-only file, folder or file system); ${use}, or fix its permissions`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return (
        `${file} is held by another process, which lets no other open it meanwhile (\`logwarden copy\` holds the store it copies ` +
        'until the copy ends): try again once that process is done'
      );
    case 'SQLITE_FULL':
      return `the disk holding ${file} is full; free some space or ${use}`;
    case 'SQLITE_IOERR':
      // SQLite says "disk I/O error" when it cannot grow its -shm file on a full disk.
      if (isFull(dir)) return `the disk holding ${file} is full; free some space or ${use}`;
      return `the disk reported an I/O error on ${file}; check the disk, or ${use}`;
    default:
      return undefined;
  }
}

/** A code of SQLite's without its extended part (`SQLITE_IOERR_SHMSIZE` is an `SQLITE_IOERR`); other codes as they are. */
function sqliteCode(code: string): string {
  return /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
}

/** Whether the file system holding `dir` has (next to) no room left for this user. */
function isFull(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < FULL_BELOW_BYTES;
  } catch {
    return false;
  }
}

/** Free space under which a disk counts as full: less than SQLite's -shm needs to grow (32 KiB) and a few pages besides. */
const FULL_BELOW_BYTES = 256 * 1024;

/**
 * Why `log-witness.db` (the record of the largest checkpoint signed per tenant) could not be
 * opened. The database itself is not at fault, and is never the file to move away for it.
 */
function witnessFailure(code: string, witness: string, use: string): string | undefined {
  const what = `${witness} (the record of the checkpoints signed, beside the store unless LOGWARDEN_LOG_WITNESS_DIR says otherwise)`;
  switch (sqliteCode(code)) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return (
        `${what} is ${code === 'SQLITE_NOTADB' ? 'not an SQLite file' : 'a damaged SQLite file'}; the store itself is not at fault. ` +
        'Put back a copy of it made while no server ran, or move it away: the next start makes a new one from the checkpoints the store holds ' +
        '(it then cannot tell whether the store was put back to an earlier state before that start)'
      );
    case 'SQLITE_FULL':
      return `the disk holding ${witness} is full; free some space or ${use}`;
    case 'SQLITE_IOERR':
      if (isFull(dirname(witness))) return `the disk holding ${witness} is full; free some space or ${use}`;
      return `the disk reported an I/O error on ${witness}; check the disk, or ${use}`;
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return `${what} cannot be opened for writing (it must be a file this user can read and write, in a directory it can write); fix its permissions, or ${use}`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `${what} is held by another process; try again once that process is done`;
    default:
      return undefined;
  }
}

/**
 * Why Node refused a server's certificate. `pg` verifies it for sslmode=require too (as
 * verify-full, unlike libpq), so a self-signed one stops a URL that works with psql.
 */
const TLS_CAUSES: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by a CA this machine does not trust',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by a CA this machine does not trust',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by a CA this machine does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by a CA this machine does not trust',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: "issued for another host name than the URL's",
};

/** PostgreSQL error codes (SQLSTATE) and connection errors; the URL's password is never repeated. */
function postgresFailure(e: SystemError, url: string, names: StoreOptionNames): string | undefined {
  const at = hostPort(url);
  const fix = `check ${names.databaseUrl}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `no PostgreSQL server answers at ${at} (connection refused); start it, or ${fix}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the PostgreSQL host in the database URL (${at}) is not a known host name; ${fix}`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach the PostgreSQL server at ${at} (${String(e.code)}); ${fix}`;
    case '28P01':
    case '28000':
      return `PostgreSQL at ${at} refused the user name or password of the database URL; ${fix}`;
    case '3D000':
      return `the database named in the database URL does not exist on ${at}; create it (createdb) or ${fix}`;
    case '42501':
      return `the database user may not create logwarden's tables on ${at} (permission denied); grant it CREATE on the database, or ${fix}`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return (
        `the TLS certificate of the PostgreSQL server at ${at} could not be verified (${TLS_CAUSES[e.code] ?? 'unknown issuer'}); ` +
        "give the CA that signed it with sslrootcert=<CA file> in the database URL, or sslmode=no-verify to encrypt without verifying (uselibpqcompat=true&sslmode=require: libpq's meaning of require); " +
        fix
      );
    default:
      if (e instanceof TypeError && /url/i.test(String(e.message))) return `the database URL cannot be parsed; ${fix}`;
      return undefined;
  }
}

function storeFailure(e: SystemError, config: Pick<Config, 'dataDir' | 'databaseUrl'>, names = SERVER_OPTIONS): string | undefined {
  return config.databaseUrl ? postgresFailure(e, config.databaseUrl, names) : dataDirFailure(e, config, names);
}

/** A failure to open the store as one actionable line (exit code 1), or the error itself when it is not one we know. */
export function explainStoreFailure(err: unknown, config: Pick<Config, 'dataDir' | 'databaseUrl'>, names?: StoreOptionNames): unknown {
  if (typeof err !== 'object' || err === null || err instanceof CommandError) return err;
  const message = storeFailure(err as SystemError, config, names);
  return message === undefined ? err : new CommandError(message);
}

/** A start-up failure as one actionable line (exit code 1), or the error itself when it is not one we know. */
export function explainStartFailure(err: unknown, config: Config): unknown {
  if (typeof err !== 'object' || err === null || err instanceof CommandError) return err;
  const e = err as SystemError;
  const message =
    (e.syscall === 'listen' || e.syscall === 'bind' || (e.syscall === 'getaddrinfo' && !config.databaseUrl) ? listenFailure(e, config) : undefined) ??
    storeFailure(e, config);
  return message === undefined ? err : new CommandError(message);
}

/**
 * Checks that the temporary directory ($TMPDIR, else /tmp) takes a folder, as an NDJSON ingest
 * past LOGWARDEN_NDJSON_MEMORY_BYTES makes one there (src/logs/entry-spool.ts): a missing or
 * unwritable one is said at start-up, not as a 500 to the first large ingest.
 */
export function checkTempDir(): void {
  const dir = tmpdir();
  try {
    rmdirSync(mkdtempSync(join(dir, 'logwarden-check-')));
  } catch (err) {
    const code = String((err as SystemError).code);
    const fix =
      code === 'EROFS'
        ? 'set TMPDIR to a writable directory, or mount it writable (under systemd: PrivateTmp=yes)'
        : 'set TMPDIR to a directory this user can write, or unset it to use /tmp';
    throw new CommandError(
      `cannot write to the temporary directory ${dir} (TMPDIR; ${CAUSES[code] ?? code}), where large NDJSON ingests spool; ${fix}`,
    );
  }
}
