/**
 * `logwarden fetch --format bundle`: one query's entries with what proves them, as an offline
 * evidence bundle (src/client/evidence-bundle.ts; format in docs/verifiable-log.md). The
 * bundle is checked before it is written, so a server serving inconsistent data fails here.
 */
import { EvidenceError, fetchEvidenceBundle, TlogClient } from '../client/index.ts';
import type { Config } from '../config.ts';
import { CheckpointError, encodeBase64, NoteError, NoteKeyError, parseVerifierKey } from '../tlog/index.ts';
import { counted, writeFailure, writeWhole } from './common.ts';
import type { When } from './dates.ts';
import { CommandError, InterruptedError, UsageError } from './exit-codes.ts';
import { outputProblem } from './fetch-output.ts';
import { createProgress, type Progress } from './progress.ts';
import type { RemoteFlags } from './remote.ts';

export interface BundleFlags extends RemoteFlags {
  type: string;
  out?: string;
  tenant?: string;
  logKey?: string;
}

export async function fetchBundle(
  flags: BundleFlags,
  from: When,
  to: When | undefined,
  limit: number | undefined,
  config: Pick<Config, 'accessKey' | 'secret'>,
  signal?: AbortSignal,
): Promise<void> {
  if (!flags.tenant) throw new UsageError('--format bundle needs --tenant: the id of the tenant whose log proves the entries');
  if (!flags.out || flags.out === '-') throw new UsageError('--format bundle needs --out FILE');
  // Said before the window is read, which may take long.
  const problem = outputProblem(flags.out);
  if (problem) throw new CommandError(problem);
  let logKey: string | undefined;
  if (flags.logKey !== undefined) {
    try {
      logKey = parseVerifierKey(flags.logKey.trim()).text;
    } catch (err) {
      if (err instanceof NoteKeyError) throw new UsageError(`--log-key is not a verifier key: ${err.message}`);
      throw err;
    }
  }
  const common = { baseUrl: flags.url, tenantId: flags.tenant, requestsPerSecond: Number(flags.rate ?? '3') };
  let client: TlogClient;
  try {
    if (flags.token !== undefined) client = new TlogClient({ ...common, token: flags.token });
    else {
      const accessKey = flags.accessKey ?? config.accessKey;
      const secret = flags.secret ?? config.secret;
      if (accessKey == null || secret == null)
        throw new UsageError('credentials missing: give --access-key and --secret (or set LOGWARDEN_ACCESS_KEY and LOGWARDEN_SECRET), or --token');
      client = new TlogClient({ ...common, accessKey, secret });
    }
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
  // Shown on a terminal while the leaves after the window are read for the receipts of purged ones.
  let search: Progress | undefined;
  try {
    const { bundle, check } = await fetchEvidenceBundle(
      client,
      { logType: flags.type, from: from.iso, to: to?.iso ?? null },
      {
        logKey,
        pageSize: limit ?? 1000,
        signal,
        onReceiptSearch: (read, total) => (search ??= createProgress('deletion receipts', 'leaves')).update(read, total),
      },
    );
    search?.stop();
    if (!check.complete) {
      // Named, as `verify` names them, up to a few of each.
      const some = <T>(list: readonly T[], say: (x: T) => string) =>
        list.length === 0 ? '' : `: ${list.slice(0, 5).map(say).join('; ')}${list.length > 5 ? `; … ${list.length - 5} more` : ''}`;
      throw new CommandError(
        `the server's answer does not prove itself; no bundle written (\`logwarden verify\` on the window says more)\n` +
          `  ${check.missing.length} leaves of the window in range neither served nor deleted by retention${some(check.missing, (i) => `leaf ${i}`)}\n` +
          `  ${check.mismatched.length} entries not their leaf${some(check.mismatched, (m) => `the entry at position ${m.position} (leaf ${m.leafIndex}): ${m.reason}`)}\n` +
          `  ${check.badReceipts.length} bad deletion receipts${some(check.badReceipts, (b) => `leaf ${b.receiptLeaf}: ${b.reason}`)}` +
          (check.misordered.length > 0
            ? `\n  ${check.misordered.length} entries served out of eventTime order${some(check.misordered, (m) => `the entry at position ${m.position} (leaf ${m.leafIndex})`)}`
            : ''),
      );
    }
    // Written beside it, then renamed: a failed write (a full disk) leaves no part of a bundle, and --out as it was.
    try {
      writeWhole(flags.out, JSON.stringify(bundle, null, 1) + '\n');
    } catch (err) {
      throw new CommandError(`${writeFailure(flags.out, err)}; no bundle written (${flags.out} is as it was)`);
    }
    const range = bundle.leafRange;
    const deleted =
      check.deleted.length > 0 ? `; ${counted(check.deleted.length, 'leaf', 'leaves')} of the window deleted by retention, with their receipts` : '';
    const leaves =
      range.from < range.to ? `leaves ${range.from}…${range.to - 1}${deleted}` : 'no leaves: the server served no entries for the window';
    process.stderr.write(
      `${counted(bundle.entries.length, `${flags.type} entry`, `${flags.type} entries`)} and their proof written to ${flags.out} ` +
        `(checkpoint of ${check.checkpoint.size.toLocaleString('en-US')} leaves, root ${encodeBase64(check.checkpoint.rootHash)}; ${leaves})\n` +
        (logKey
          ? ''
          : `The bundle names the key the server announced: ${bundle.verifierKey}\nCheck it against a trusted source before relying on the bundle.\n`),
    );
  } catch (err) {
    search?.stop();
    if (err instanceof EvidenceError || err instanceof NoteError || err instanceof CheckpointError)
      throw new CommandError(`no bundle written: ${err.message}`);
    // A bundle proves a whole window: an interrupted one is not written, and a new run starts over.
    if (signal?.aborted)
      throw new InterruptedError(`interrupted: no bundle written (${flags.out} is as it was); run the command again to fetch the window`);
    throw err;
  }
}
