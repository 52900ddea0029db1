/**
 * `logwarden verify` — checks a tenant's verifiable log (SPEC §11) as an outside monitor:
 * the signed checkpoint against a pinned or first-use key, append-only consistency with the
 * last checkpoint seen (kept in a state file), and, for a window of one log type, that the
 * window served by `/v2/logs` is complete and unchanged. With `--bundle`, checks an offline
 * evidence bundle with no network.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import {
  type AuditResult,
  type BundleCheck,
  type CheckedCheckpoint,
  checkEvidenceBundle,
  EvidenceError,
  FileLeafCache,
  type LogState,
  LogVerifier,
  parseEvidenceBundle,
  TlogClient,
  tlogProofFromBundle,
  VerifyError,
  type WindowProof,
} from '../client/index.ts';
import { type Config, verifyCacheDir, verifyStatePath } from '../config.ts';
import { compareInstants, parseDateTime } from '../logs/time.ts';
import { type Checkpoint, encodeBase64, NoteKeyError, parseVerifierKey } from '../tlog/index.ts';
import { counted, fileProblem, intFlag, printJson, settingsFor, writeFailure, writeWhole } from './common.ts';
import { checkLater, parseWhen, WHEN_HELP } from './dates.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';
import { checkBaseUrl, rateFlag, sayRetrying } from './remote.ts';

interface VerifyFlags {
  url?: string;
  tenant?: string;
  accessKey?: string;
  secret?: string;
  token?: string;
  maxWait?: string;
  rate?: string;
  pageSize?: string;
  logKey?: string;
  state?: string;
  cacheDir?: string;
  type?: string;
  from?: string;
  to?: string;
  checkTiles?: boolean;
  bundle?: string;
  entry?: string;
  proofOut?: string;
  json?: boolean;
}

interface StateFile {
  version: 1;
  /** Keyed by the log's URL (`<base>/v2/tlog/<tenantId>/`); a log reached by another URL is found by its origin (stateOfOrigin). */
  logs: Record<string, LogState>;
}

/**
 * The state kept for the same log under another URL (another host name for the server, a
 * server restored elsewhere): found by the origin its checkpoints sign, the first line of the
 * note. Without it, a rollback or fork seen through a new name would pass as a first run.
 * Undefined when there is none, or the checkpoint cannot be read (the run then says why).
 */
async function stateOfOrigin(client: TlogClient, file: StateFile): Promise<{ url: string; state: LogState } | undefined> {
  let origin: string;
  try {
    origin = (await client.checkpointNote()).split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  for (const [url, state] of Object.entries(file.logs)) {
    if (state.checkpoint?.split('\n', 1)[0] === origin) return { url, state };
  }
  return undefined;
}

function readState(path: string): StateFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, logs: {} };
    throw new CommandError(`cannot read the state file ${path} (${fileProblem(err, true)})`);
  }
  try {
    const doc = JSON.parse(text) as StateFile;
    if (doc.version !== 1 || typeof doc.logs !== 'object' || doc.logs === null) throw new Error('not a logwarden verify state file');
    return doc;
  } catch (err) {
    throw new CommandError(
      `the state file ${path} is unreadable (${(err as Error).message}); it holds the checkpoints seen before, so it is not replaced: move it away to start afresh`,
    );
  }
}

/** Replaces the state file in one step (a crash leaves the old one or the new one, never half). */
function writeState(path: string, state: StateFile): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeWhole(path, JSON.stringify(state, null, 2) + '\n');
  } catch (err) {
    throw new CommandError(`cannot write the state file ${path} (${fileProblem(err)}); the checkpoint seen now is not kept in it`);
  }
}

/** Writes a proof file whole or not at all. */
function writeProof(path: string, text: string): void {
  try {
    writeWhole(path, text, 0o644);
  } catch (err) {
    throw new CommandError(`${writeFailure(path, err)}; no proof written`);
  }
}

function clientFrom(flags: VerifyFlags, config: Pick<Config, 'accessKey' | 'secret'>): TlogClient {
  if (!flags.url) throw new UsageError('give --url (and --tenant) to verify a server, or --bundle FILE to verify an evidence bundle offline');
  if (!flags.tenant) throw new UsageError('--tenant is required with --url: the id of the tenant whose log to verify');
  checkBaseUrl(flags.url);
  const maxWait = intFlag('--max-wait', flags.maxWait, 0, 7 * 86_400) ?? 900;
  // Tiles are not paced (an audit reads thousands); /v2/logs pages keep the usual pacing.
  const common = {
    baseUrl: flags.url,
    tenantId: flags.tenant,
    requestsPerSecond: rateFlag(flags.rate),
    retry: { maxRetryAfterMs: maxWait * 1000, onRetry: sayRetrying },
  };
  try {
    if (flags.token !== undefined) return new TlogClient({ ...common, token: flags.token });
    const accessKey = flags.accessKey ?? config.accessKey;
    const secret = flags.secret ?? config.secret;
    if (accessKey === null || accessKey === undefined || secret === null || secret === undefined) {
      throw new UsageError('credentials missing: give --access-key and --secret (or set LOGWARDEN_ACCESS_KEY and LOGWARDEN_SECRET), or --token');
    }
    return new TlogClient({ ...common, accessKey, secret });
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(`${err.message.includes('tenant') ? '--tenant' : '--url'}: ${err.message}`);
    throw err;
  }
}

function checkLogKey(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return parseVerifierKey(text.trim()).text;
  } catch (err) {
    if (err instanceof NoteKeyError) {
      // The form error names the form itself; the others name what is wrong with a key of that form.
      const form = /has the form/.test(err.message) ? '' : ' (the form is <name>+<hex id>+<base64 key>)';
      throw new UsageError(`--log-key is not a verifier key: ${err.message}${form}`);
    }
    throw err;
  }
}

const num = (n: number) => n.toLocaleString('en-US');
const cpText = (c: Checkpoint) => `${num(c.size)} leaves, root hash ${encodeBase64(c.rootHash)}`;

const PROVES_ONLINE = [
  'What this proves: the checkpoint is signed by the log key above; it extends every checkpoint this state file saw',
  'before (nothing logged was changed, removed or reordered since); every leaf up to it was read and hashes to its root.',
].join('\n');
const PROVES_WINDOW = [
  'For the window: every entry served is a leaf of that tree, byte for byte (so unchanged since it was logged), and',
  'every leaf of this type with an eventTime in the window, up to the checkpoint, was served or deleted by retention',
  '(named by a deletion receipt in the tree whose count and digest match).',
  'What it does not prove: that an eventTime is when the event happened (it is what the writer stated); anything',
  'logged after the checkpoint; that others are shown the same tree (compare checkpoints with them, or witnesses).',
].join('\n');

function humanCheckpoint(c: CheckedCheckpoint, keyText: string, keySource: string, statePath: string): string {
  const lines = [`Checkpoint of ${c.checkpoint.origin}: ${cpText(c.checkpoint)}`];
  lines.push(`  signature: valid, by ${keyText} (${keySource})`);
  if (c.relation === 'first' || !c.previous) lines.push(`  consistency: the first checkpoint this state file (${statePath}) records for this log`);
  else if (c.relation === 'same') lines.push(`  consistency: the same tree as seen ${c.previous.seenAt ?? 'before'}`);
  else lines.push(`  consistency: extends the tree of ${num(c.previous.size)} leaves seen ${c.previous.seenAt ?? 'before'} (append-only, proven)`);
  return lines.join('\n') + '\n';
}

/** Deleted leaves, one line per receipt (when, which receipt, how many of the window's leaves), then bad receipts. */
function deletionLines(deleted: WindowProof['deleted'], bad: WindowProof['badReceipts']): string[] {
  const lines: string[] = [];
  const byReceipt = new Map<number, WindowProof['deleted']>();
  for (const d of deleted) byReceipt.set(d.receiptLeaf, [...(byReceipt.get(d.receiptLeaf) ?? []), d]);
  for (const [receiptLeaf, leaves] of byReceipt) {
    const first = leaves[0]!;
    // The earliest and latest eventTime (leaf order is append order, not time order).
    const at = (d: (typeof leaves)[number]) => {
      const r = parseDateTime(d.eventTime);
      return r.ok ? r.instant : { ms: Number.NaN, sub: '' };
    };
    const earliest = leaves.reduce((a, b) => (compareInstants(at(b), at(a)) < 0 ? b : a));
    const latest = leaves.reduce((a, b) => (compareInstants(at(b), at(a)) > 0 ? b : a));
    const which =
      leaves.length === 1
        ? `leaf ${first.leafIndex} (eventTime ${first.eventTime})`
        : `${num(leaves.length)} leaves (eventTime ${earliest.eventTime} to ${latest.eventTime})`;
    // How old the youngest of them was when deleted: what an auditor compares with the retention period in force.
    const days = Math.floor((Date.parse(first.deletedAt) - at(latest).ms) / 86_400_000);
    const age = Number.isNaN(days)
      ? ''
      : days < 0
        ? ` (before ${leaves.length === 1 ? 'its' : "the latest one's"} eventTime)`
        : ` (${leaves.length === 1 ? 'it was' : 'the latest was'} ${days < 1 ? 'less than a day' : counted(days, 'day', 'days')} old)`;
    lines.push(
      `  ${which}: deleted by retention on ${first.deletedAt}${age}, receipt leaf ${receiptLeaf} (its count and digest match the deleted leaves)`,
    );
  }
  for (const b of bad) lines.push(`  BAD DELETION RECEIPT: leaf ${b.receiptLeaf}: ${b.reason}`);
  return lines;
}

function auditLine(a: AuditResult): string {
  const rate = a.elapsedMs > 0 ? Math.round((a.fetched / a.elapsedMs) * 1000) : 0;
  return `Audit: all ${num(a.size)} leaves hash to the signed root (${num(a.fromCache)} from the cache, ${num(a.fetched)} fetched in ${(a.elapsedMs / 1000).toFixed(1)} s, ${num(rate)} leaves/s${a.tilesChecked ? '; every tile checked' : ''})`;
}

function humanWindow(p: WindowProof): string {
  const w = p.window;
  const lines = [
    auditLine(p.audit),
    `Window ${w.logType} from ${w.from}${w.to ? ` to ${w.to}` : ''}: ${p.complete ? 'COMPLETE' : 'NOT PROVEN'}`,
    `  ${num(p.served)} entries served; ${num(p.proven.length)} proven to be leaves of the tree, unchanged`,
    `  ${num(p.inWindow)} leaves of this type and time range in the tree; ${num(p.inWindow - p.hidden.length - p.late.length - p.deleted.length)} of them served`,
  ];
  lines.push(...deletionLines(p.deleted, p.badReceipts));
  for (const h of p.hidden.slice(0, 20))
    lines.push(
      h.servedOnSecondRead === false
        ? `  HIDDEN: leaf ${h.leafIndex} (eventTime ${h.eventTime}) was not served, and not served either when the window was read again after a checkpoint that holds it (the first checkpoint shown made it look appended during the read)`
        : `  HIDDEN: leaf ${h.leafIndex} (eventTime ${h.eventTime}) was logged before the read began but not served`,
    );
  if (p.hidden.length > 20) lines.push(`  … and ${p.hidden.length - 20} more hidden leaves (--json lists all)`);
  for (const u of p.unexpected.slice(0, 20))
    lines.push(`  NOT IN THE LOG: the entry served at position ${u.position} (eventTime ${u.eventTime}): ${u.reason}`);
  if (p.unexpected.length > 20) lines.push(`  … and ${p.unexpected.length - 20} more (--json lists all)`);
  if (p.late.length > 0)
    lines.push(
      `  ${num(p.late.length)} leaves of the window were logged while it was being read (not served by that read, served when the window was read again; not a fault)`,
    );
  return lines.join('\n') + '\n';
}

async function runOnline(flags: VerifyFlags): Promise<void> {
  const client = clientFrom(flags, settingsFor(['accessKey', 'secret']));
  const logKey = checkLogKey(flags.logKey);
  const statePath = flags.state ?? verifyStatePath();
  const file = readState(statePath);
  const logUrl = client.transport.url(client.logPath);
  let previous = file.logs[logUrl] ?? null;
  if (!previous) {
    const elsewhere = await stateOfOrigin(client, file);
    if (elsewhere) {
      previous = elsewhere.state;
      process.stderr.write(`logwarden: this log was verified before at ${elsewhere.url}: its key and last checkpoint there are checked against\n`);
    }
  }
  const cacheDir = flags.cacheDir ?? verifyCacheDir();
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CommandError(`cannot use ${cacheDir} as the cache folder (${fileProblem(err)}); give another with --cache-dir`);
  }
  const cachePath = join(cacheDir, `${createHash('sha256').update(logUrl).digest('hex').slice(0, 24)}.leaves`);
  const windowed = flags.type !== undefined || flags.from !== undefined || flags.to !== undefined;
  if (windowed && (flags.type === undefined || flags.from === undefined))
    throw new UsageError('a window needs --type and --from (and optionally --to)');
  const now = Date.now();
  const from = flags.from === undefined ? undefined : parseWhen(flags.from, '--from', now);
  const to = flags.to === undefined ? undefined : parseWhen(flags.to, '--to', now);
  if (from && to) checkLater(from, to);
  const pageSize = intFlag('--page-size', flags.pageSize, 1, 1000);

  const bar = createProgress('audit', 'leaves', 0, process.stderr.isTTY === true && !flags.json);
  const verifier = new LogVerifier({ client, logKey, state: previous, cache: new FileLeafCache(cachePath), onProgress: (d, t) => bar.update(d, t) });
  const save = () => {
    if (verifier.state) writeState(statePath, { ...file, logs: { ...file.logs, [logUrl]: verifier.state } });
  };
  let checked: CheckedCheckpoint | undefined;
  let proof: WindowProof | undefined;
  let audited: AuditResult | undefined;
  try {
    if (windowed) {
      proof = await verifier.proveWindow(
        { logType: flags.type!, from: from!.iso, to: to?.iso ?? null },
        { pageSize, checkTiles: flags.checkTiles === true },
      );
    } else {
      checked = await verifier.checkpoint();
      if (flags.checkTiles) audited = await verifier.audit(checked.checkpoint, undefined, { checkTiles: true });
    }
  } catch (err) {
    bar.stop();
    if (err instanceof VerifyError) {
      if (flags.json) printJson({ ok: false, log: logUrl, failure: err.code, message: err.message });
      const notes: string[] = [];
      if (logKey !== undefined && (err.code === 'bad-checkpoint' || err.code === 'key-mismatch'))
        notes.push(`(is --log-key the key of tenant ${flags.tenant}'s log? \`logwarden tenants show ${flags.tenant}\` on the server prints it)`);
      // The state keeps the last good checkpoint: it is the evidence against the one just refused.
      notes.push(
        previous?.checkpoint
          ? `(the state file ${statePath} still holds the last checkpoint that verified)`
          : `(nothing was saved: the state file ${statePath} holds no checkpoint of this log yet)`,
      );
      throw new CommandError([err.message, ...notes].join('\n'));
    }
    throw err;
  }
  bar.stop();
  save();
  const state = verifier.state!;
  const keySource =
    state.keySource === 'pinned'
      ? 'pinned with --log-key'
      : verifier.trustedOnFirstUse
        ? `trusted on first use, now kept in ${statePath}; pin it with --log-key`
        : `trusted on first use earlier, kept in ${statePath}`;
  if (flags.json) {
    const report = proof
      ? {
          ok: proof.complete,
          log: logUrl,
          checkpoint: cpJson(proof.checkpoint),
          verifierKey: state.verifierKey,
          keySource: state.keySource,
          window: proof.window,
          served: proof.served,
          inWindow: proof.inWindow,
          proven: proof.proven,
          hidden: proof.hidden,
          late: proof.late,
          deleted: proof.deleted,
          badReceipts: proof.badReceipts,
          unexpected: proof.unexpected,
          audit: proof.audit,
        }
      : {
          ok: true,
          log: logUrl,
          checkpoint: cpJson(checked!.checkpoint),
          verifierKey: state.verifierKey,
          keySource: state.keySource,
          relation: checked!.relation,
          previous: checked!.previous && {
            size: checked!.previous.size,
            rootHash: encodeBase64(checked!.previous.rootHash),
            seenAt: checked!.previous.seenAt,
          },
        };
    printJson(report);
  } else if (proof) {
    // The checkpoint everything was checked against (taken after the window was read).
    const c: CheckedCheckpoint = { checkpoint: proof.checkpoint, note: '', ...proof.consistency };
    process.stdout.write(humanCheckpoint(c, state.verifierKey, keySource, statePath));
    process.stdout.write(humanWindow(proof));
    process.stdout.write(`${PROVES_ONLINE}\n${PROVES_WINDOW}\n`);
  } else {
    process.stdout.write(humanCheckpoint(checked!, state.verifierKey, keySource, statePath));
    if (audited) process.stdout.write(`${auditLine(audited)}\n`);
    process.stdout.write(
      `${PROVES_ONLINE.replace(/; every leaf up to it was read and hashes to its root\./, flags.checkTiles ? '; every leaf and tile up to it was read and matches its root.' : '.')}\n`,
    );
  }
  if (proof && !proof.complete) {
    throw new CommandError(
      `the window is not proven complete: ${proof.hidden.length} hidden, ${proof.unexpected.length} served entries not in the log, ${proof.badReceipts.length} bad deletion receipts`,
    );
  }
}

function cpJson(c: Checkpoint) {
  return { origin: c.origin, size: c.size, rootHash: encodeBase64(c.rootHash) };
}

function humanBundle(path: string, c: BundleCheck, bundleKey: string): string {
  const w = c.window;
  const empty = c.leafRange.to <= c.leafRange.from;
  const windowText = `Window ${w.logType} from ${w.from}${w.to ? ` to ${w.to}` : ''}`;
  const lines = [
    `Evidence bundle ${path}`,
    `Checkpoint of ${c.checkpoint.origin}: ${cpText(c.checkpoint)}; signature valid by the pinned key${c.bundleKeyMatches ? '' : ` (the bundle names another key, ${bundleKey}: ignored)`}`,
  ];
  if (empty) {
    lines.push(
      'The bundle holds no leaves: the server served no entries for its window',
      `${windowText}: ${c.complete ? 'no entries, so nothing to prove beyond the signed checkpoint' : 'NOT PROVEN'}`,
    );
  } else {
    lines.push(
      `Leaves ${c.leafRange.from} to ${c.leafRange.to - 1} (${num(c.leafRange.to - c.leafRange.from)}) are in that tree: with the bundle's subtree hashes they recompute its root`,
      `${windowText}: ${c.complete ? 'COMPLETE within the bundled leaf range' : 'NOT PROVEN'}`,
      `  ${num(c.entries)} entries proven to be their leaf, byte for byte; ${num(c.inWindow)} leaves of the window in the range`,
    );
  }
  lines.push(...deletionLines(c.deleted, c.badReceipts));
  for (const m of c.missing.slice(0, 20)) lines.push(`  HIDDEN: leaf ${m} is in the window and in the range but not among the entries`);
  for (const m of c.mismatched.slice(0, 20)) lines.push(`  NOT IN THE LOG: the entry at position ${m.position} (leaf ${m.leafIndex}): ${m.reason}`);
  for (const m of c.misordered.slice(0, 20)) {
    lines.push(
      `  OUT OF ORDER: the entry at position ${m.position} (leaf ${m.leafIndex}, eventTime ${m.eventTime}) comes after one of ${m.after}: a window is served in ascending eventTime, so the entries were reordered`,
    );
  }
  if (empty) {
    lines.push(
      "What this proves, with no network: only that the log's key signed that tree.",
      'What it does not prove: that the log holds no entry of the window (`logwarden verify --url … --type … --from …`',
      'audits the whole log for them); that others see the same tree.',
    );
  } else {
    lines.push(
      'What this proves, with no network: the entries are leaves of the signed tree, unchanged, and no leaf of the window',
      'lies between the first and the last bundled leaf without being among the entries or named by a deletion receipt',
      'that is a leaf of the same tree.',
      'What it does not prove: anything about leaves before or after that range (an entry of the window logged there',
      'is not excluded: `logwarden verify --url …` audits the whole log); that others see the same tree; that eventTimes are true.',
    );
  }
  return lines.join('\n') + '\n';
}

async function runBundle(flags: VerifyFlags): Promise<void> {
  if (flags.url) throw new UsageError('--bundle verifies offline: give it without --url');
  const online = (['type', 'from', 'to', 'state'] as const).filter((f) => flags[f] !== undefined);
  if (online.length > 0) {
    const names = online.map((f) => `--${f}`).join(', ');
    throw new UsageError(`${names} ${online.length === 1 ? 'goes' : 'go'} with --url: a bundle checks the window it was fetched for`);
  }
  if (flags.proofOut !== undefined && flags.entry === undefined)
    throw new UsageError('--proof-out needs --entry: the leaf index whose proof to write');
  if (!flags.logKey)
    throw new UsageError("--bundle needs --log-key: the log's verifier key from a source you trust (the key inside the bundle proves nothing)");
  const logKey = checkLogKey(flags.logKey)!;
  let text: string;
  try {
    text = readFileSync(flags.bundle!, 'utf8');
  } catch (err) {
    throw new CommandError(`cannot read ${flags.bundle} (${fileProblem(err, true)})`);
  }
  try {
    const bundle = parseEvidenceBundle(text);
    const check = checkEvidenceBundle(bundle, logKey);
    // A proof is exported only from a bundle that proves its window: one that does not is suspect as a whole.
    let proofText: string | undefined;
    if (flags.entry !== undefined && check.complete) {
      const index = intFlag('--entry', flags.entry)!;
      proofText = tlogProofFromBundle(bundle, index, logKey);
      if (flags.proofOut && flags.proofOut !== '-') writeProof(flags.proofOut, proofText);
      // With --json the proof goes inside the report, which stays one JSON document.
      else if (!flags.json) process.stdout.write(proofText);
      if (flags.proofOut && flags.proofOut !== '-' && !flags.json)
        process.stderr.write(`tlog-proof@v1 of leaf ${index} written to ${flags.proofOut}\n`);
    }
    if (flags.json) {
      printJson({
        ok: check.complete,
        bundle: flags.bundle,
        checkpoint: cpJson(check.checkpoint),
        window: check.window,
        leafRange: check.leafRange,
        entries: check.entries,
        inWindow: check.inWindow,
        missing: check.missing,
        deleted: check.deleted,
        badReceipts: check.badReceipts,
        mismatched: check.mismatched,
        misordered: check.misordered,
        bundleKeyMatches: check.bundleKeyMatches,
        ...(proofText !== undefined && !(flags.proofOut && flags.proofOut !== '-') ? { proof: proofText } : {}),
      });
    } else if (flags.entry === undefined || !check.complete || (flags.proofOut && flags.proofOut !== '-')) {
      process.stdout.write(humanBundle(flags.bundle!, check, bundle.verifierKey));
    }
    if (!check.complete)
      throw new CommandError(
        `the bundle does not prove its window: ${check.missing.length} hidden, ${check.mismatched.length} entries not in the log, ${check.badReceipts.length} bad deletion receipts` +
          (check.misordered.length > 0 ? `, ${check.misordered.length} entries out of the served order` : '') +
          (flags.entry !== undefined ? '; no proof written' : ''),
      );
  } catch (err) {
    if (err instanceof EvidenceError) {
      if (flags.json) printJson({ ok: false, bundle: flags.bundle, message: err.message });
      throw new CommandError(`${flags.bundle}: ${err.message}`);
    }
    throw err;
  }
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      "check a tenant's verifiable log: the signed checkpoint, append-only consistency with what was seen before, " +
        'and that a window of one log type was served complete and unchanged; or check an evidence bundle offline',
    )
    .addOption(new Option('--url <url>', 'base URL of the logwarden server'))
    .addOption(new Option('--tenant <id>', 'the tenant whose log to verify (its id, as `logwarden tenants list` shows it)'))
    .addOption(new Option('--access-key <key>', 'access key with api:logs:read of that tenant [env: LOGWARDEN_ACCESS_KEY]'))
    .addOption(
      new Option('--secret <secret>', 'its secret; prefer the environment, command lines are visible to other users [env: LOGWARDEN_SECRET]'),
    )
    .addOption(new Option('--token <token>', 'a bearer token instead of the access key and secret'))
    .addOption(
      new Option(
        '--log-key <key>',
        "the log's verifier key to pin, <name>+<hex id>+<base64> (`logwarden tenants show ID` prints it); without it, the key kept in the state file, or the server's on first use",
      ),
    )
    .addOption(
      new Option(
        '--state <file>',
        `where the trusted key and the last checkpoint seen are kept (default ${verifyStatePath().replace(homedir(), '~')}, under $XDG_CONFIG_HOME)`,
      ),
    )
    .addOption(
      new Option(
        '--cache-dir <dir>',
        `where audited leaves are kept so the next audit fetches only new ones (default ${verifyCacheDir().replace(homedir(), '~')}, under $XDG_CACHE_HOME)`,
      ),
    )
    .addOption(new Option('--type <logType>', 'prove a window of this log type complete (with --from, --to)'))
    .addOption(new Option('--from <when>', `window start, inclusive: ${WHEN_HELP}`))
    .addOption(new Option('--to <when>', 'window end, exclusive (default: no end)'))
    .addOption(new Option('--check-tiles', 'also compare every tile the server publishes with the audited tree (what other tools read)'))
    .addOption(new Option('--page-size <n>', 'entries per /v2/logs page, 1-1000').default('1000'))
    .addOption(new Option('--max-wait <seconds>', 'longest Retry-After to wait out before failing').default('900'))
    .addOption(
      new Option(
        '--rate <n>',
        "GET /v2/logs pages per second at most, to stay under the tenant's read limit (0: unpaced; tiles are never paced)",
      ).default('3'),
    )
    .addOption(new Option('--bundle <file>', 'verify an evidence bundle (from `logwarden fetch --format bundle`) offline; needs --log-key'))
    .addOption(
      new Option(
        '--entry <leafIndex>',
        'with --bundle: export the proof of the leaf at that index as C2SP tlog-proof@v1 text; the bundle lists each entry\'s leaf index ("entries": [{"leafIndex": …}]), and --json reports the range it holds ("leafRange")',
      ),
    )
    .addOption(new Option('--proof-out <file>', 'with --entry: write the proof there (default: standard output)'))
    .addOption(new Option('--json', 'print a JSON report instead of text'))
    .addHelpText(
      'after',
      `
Examples:
  export LOGWARDEN_ACCESS_KEY=… LOGWARDEN_SECRET=…
  # the checkpoint: signature, and consistency with the last one this machine saw
  logwarden verify --url http://127.0.0.1:8080 --tenant 681063174048086563 --log-key 'logwarden/1f0c…/681063174048086563+e2374c13+AUvj…'
  # a window: every AccessLog entry of March, complete and unchanged
  logwarden verify --url http://127.0.0.1:8080 --tenant 681063174048086563 --type AccessLog --from 2026-03-01 --to 2026-04-01
  # offline, with no server: an evidence bundle, and one entry's proof as tlog-proof@v1
  logwarden fetch --url http://127.0.0.1:8080 --tenant 681063174048086563 --type AccessLog --from 2026-03-01 --to 2026-04-01 --format bundle --out march.bundle
  logwarden verify --bundle march.bundle --log-key 'logwarden/…+e2374c13+AUvj…'
  # --entry takes a leaf index the bundle holds: each entry's is its "leafIndex" in the bundle's "entries"
  logwarden verify --bundle march.bundle --log-key 'logwarden/…+e2374c13+AUvj…' --entry 1234 --proof-out entry-1234.proof

What is proven (online):
  - the checkpoint (tree size, root hash) is signed by the log's key: pinned with --log-key, or the key
    the server announced the first time, kept in the state file (trust on first use: compare it once
    with \`logwarden tenants show\` on the server, or pin it);
  - the log only grew since every checkpoint this state file saw: a smaller tree (rollback) or one
    that does not extend it (fork: history rewritten) fails with exit 1, and the state keeps the
    checkpoint that verified, as evidence. A fork is claimed only when proven: when the server's
    consistency proof fails or is missing and its tiles do not hash to its signed checkpoint (or
    cannot be read), the run fails (exit 1) saying that, and that consistency could not be proven;
  - with --type/--from: every leaf up to the checkpoint is read (resuming from the cache) and hashes
    to its root; every entry /v2/logs served for the window is one of those leaves, byte for byte;
    every leaf of that type with an eventTime in the window was served, or deleted by retention
    as a deletion receipt in the tree proves. Leaves appended while the window was read are
    reported, not counted as missing.
What is not proven: that an eventTime is when the event happened (it is what the writer stated);
anything logged after the checkpoint; that other readers are shown the same tree (compare
checkpoints with them).

Offline (--bundle): the bundle's checkpoint is signed by --log-key; its leaves are the leaves at
their indexes in that tree; each entry is its leaf, unchanged, in the order served (ascending
eventTime); and within the bundle's leaf range
(first to last served entry) no leaf of the window is missing (one deleted by retention is named
by a deletion receipt the bundle carries). Leaves outside that range are not in the bundle, so an
entry of the window logged before the first or after the last one served is not excluded by the
bundle alone. --entry exports a proof only from a bundle that proves its window.

Exit status: 0 proven; 1 not proven (bad signature, rollback, fork, tampered data, incomplete
window); 2 usage. A progress bar shows on a terminal.`,
    )
    .action(async (flags: VerifyFlags) => {
      if (flags.bundle !== undefined) return runBundle(flags);
      if (flags.entry !== undefined || flags.proofOut !== undefined) throw new UsageError('--entry and --proof-out go with --bundle');
      // Ctrl-C ends the run as it would (exit 130), after saying what that means.
      const onInterrupt = () => {
        process.stderr.write('\nlogwarden: interrupted: this run proved nothing; run the command again to check\n');
        process.off('SIGINT', onInterrupt);
        process.kill(process.pid, 'SIGINT');
      };
      process.on('SIGINT', onInterrupt);
      try {
        return await runOnline(flags);
      } finally {
        process.off('SIGINT', onInterrupt);
      }
    });
}
