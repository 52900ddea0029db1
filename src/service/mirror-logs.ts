/**
 * The mirror behind `logwarden sync` (and any job that mirrors): copies one log type of a remote source into a local
 * tenant. Exactly-once comes from two rules. Each run re-reads an overlap window before the
 * checkpoint, so entries that reached the source late are picked up; appends are idempotent,
 * so re-read entries are counted as duplicates, never stored twice. And the checkpoint moves
 * only after the entries before it are durably appended, so a run killed at any instant
 * resumes from a point it has fully stored.
 *
 * An entry that reaches the source later than the overlap, dated before the window, escapes
 * both rules; so after each pass the part mirrored before the window is counted on both sides
 * and, where the source holds more, read again (mirror-check.ts).
 */
import { isLogsApiError, type LogsClient } from '../client/index.ts';
import { MIN_MS } from '../logs/time.ts';
import type { Store } from '../store/store.ts';
import { checkMirrored, type MirrorCheck } from './mirror-check.ts';
import { localEntry } from './mirror-entry.ts';

export type { MirrorCheck } from './mirror-check.ts';

export interface MirrorTarget {
  readonly store: Store;
  readonly tenantId: string;
  /** The source's identity in checkpoints: its normalised base URL. */
  readonly source: string;
}

export interface MirrorRequest {
  readonly logType: string;
  /** Where to start when this type has no checkpoint yet. */
  readonly sinceMs: number;
  readonly overlapMs: number;
  /** Exclusive upper bound of this run (its start), so the window is fixed while paging. */
  readonly untilMs: number;
  readonly pageSize?: number | undefined;
  /**
   * How long a type may go without a new entry before a run that finds nothing reports it
   * silent (default 72 hours, longer than a weekend without business activity): an empty run
   * alone is an ordinary quiet window.
   */
  readonly silentAfterMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Entries older than this are not expected in the mirror (the local retention's cutoff for the
   * type): the completeness check starts no earlier, so it never reads purged entries back.
   */
  readonly retainedFromMs?: number | null | undefined;
  /**
   * After the pass, check the part mirrored before the overlap window against the source, and
   * read again what differs (default true).
   */
  readonly check?: boolean | undefined;
  /**
   * How long the source keeps entries of this type, when it deletes them (Gong: AccessLog 14
   * days): a checkpoint older than that says what the source may have deleted before it was read.
   */
  readonly sourceRetentionMs?: number | undefined;
  readonly onPage?: ((done: number, total: number) => void) | undefined;
}

export interface MirrorReport {
  readonly logType: string;
  readonly fromMs: number;
  readonly untilMs: number;
  /** Entries read from the source in this run. */
  readonly fetched: number;
  /** Entries new to the local store. */
  readonly stored: number;
  /** Entries already stored (the overlap, or a run that was interrupted). */
  readonly duplicates: number;
  /** The checkpoint after this run. */
  readonly throughMs: number;
  /** Entries stored for this type by earlier runs. */
  readonly storedBefore: number;
  /**
   * True when the type had data before, this run read nothing, and the newest entry the local
   * tenant holds for the type is older than `silentAfterMs`: worth a look.
   */
  readonly silent: boolean;
  /** The quiet period `silent` was judged by. */
  readonly silentAfterMs: number;
  /**
   * The completeness check of the range mirrored before this run's overlap window; absent when
   * there was none to check (a type's first run, nothing mirrored before the window, an
   * interrupted run, or the check turned off).
   */
  readonly check?: MirrorCheck;
  /** Stopped by the caller's signal within the type: what it had stored by then, up to the checkpoint. */
  readonly interrupted?: true;
  /**
   * The earlier runs left the mirror complete only through `fromMs`, and the source deletes
   * entries older than `retentionMs`: what it held from `fromMs` to `toMs` may have been deleted
   * there before this run could read it.
   */
  readonly pastSourceRetention?: { readonly fromMs: number; readonly toMs: number; readonly retentionMs: number };
  /**
   * A first run whose start (`sinceMs`) lies further back than the source keeps the type: the
   * source holds its entries from `fromMs` only, so that is where the mirror begins in effect.
   */
  readonly sinceBeforeSourceRetention?: { readonly fromMs: number; readonly retentionMs: number };
}

export const DEFAULT_SILENT_AFTER_MS = 72 * 3_600_000;

/**
 * Whether the local tenant holds an entry of the type at or after `sinceMs`. The mirrored
 * entries themselves say when the type last had activity, so no extra state is kept for it.
 */
async function hasEntriesSince(store: Store, tenantId: string, logType: string, sinceMs: number): Promise<boolean> {
  const page = await store.firstPage({ tenantId, logType, fromMs: sinceMs, toMs: null }, 1);
  return page.count > 0;
}

/** The event time of the oldest entry of the type the local tenant holds at or after `fromMs`. */
async function oldestSince(store: Store, tenantId: string, logType: string, fromMs: number): Promise<number | undefined> {
  const page = await store.firstPage({ tenantId, logType, fromMs, toMs: null }, 1);
  if (page.count === 0) return undefined;
  if (page.next) return page.next.timeMs;
  const eventTime = (JSON.parse(page.text.toString('utf8')) as { eventTime?: unknown }).eventTime;
  return typeof eventTime === 'string' ? Date.parse(eventTime) : undefined;
}

/**
 * Where the completeness check starts: the earlier of the mirror's oldest entry of the type
 * and this run's --since (a late entry may be dated before everything mirrored so far), but no
 * earlier than the local retention's cutoff; and, should the source no longer hold that whole
 * range, this run's --since as a later start to judge by. Undefined when nothing is mirrored.
 */
async function checkStart(store: Store, tenantId: string, req: MirrorRequest): Promise<{ fromMs: number; fallbackFroms: number[] } | undefined> {
  // The earliest event time an entry can have, not 1970: a mirror may hold entries dated before it.
  const floor = Math.max(MIN_MS, req.retainedFromMs ?? MIN_MS);
  const oldest = await oldestSince(store, tenantId, req.logType, floor);
  if (oldest === undefined || Number.isNaN(oldest)) return undefined;
  const since = Math.max(floor, req.sinceMs);
  const fromMs = Math.min(since, Math.max(floor, oldest));
  return { fromMs, fallbackFroms: since > fromMs ? [since] : [] };
}

export async function mirrorType(target: MirrorTarget, client: LogsClient, req: MirrorRequest): Promise<MirrorReport> {
  const { store, tenantId, source } = target;
  const checkpoint = await store.getCheckpoint(source, tenantId, req.logType);
  const storedBefore = checkpoint?.entriesSeen ?? 0;
  // A checkpoint later than this run's end was saved by a clock that ran ahead and has been put
  // back: it is read from this run's end instead (the check below covers what lies before), so
  // the checkpoint does not stay ahead, every run reading nothing new, until the clock gets there.
  const checkpointMs = checkpoint && Math.min(checkpoint.throughMs, req.untilMs);
  let through = checkpointMs ?? req.sinceMs;
  const fromMs = checkpointMs !== undefined ? Math.max(MIN_MS, checkpointMs - req.overlapMs) : req.sinceMs;
  let fetched = 0;
  let stored = 0;
  let duplicates = 0;
  let recovered = 0;
  // The count as this run last saved it: each save adds what was stored since, so runs of one
  // mirror that overlap each count their own entries instead of the last one's total winning.
  let countSaved = storedBefore;
  const save = async (throughMs: number) => {
    const entriesSeen = storedBefore + stored + recovered;
    await store.setCheckpoint({ source, tenantId, logType: req.logType, throughMs, entriesSeen, countFrom: countSaved });
    countSaved = entriesSeen;
  };

  let interrupted = false;
  if (fromMs < req.untilMs) {
    const pages = client.pages({
      logType: req.logType,
      fromDateTime: new Date(fromMs).toISOString(),
      toDateTime: new Date(req.untilMs).toISOString(),
      limit: req.pageSize,
      signal: req.signal,
    });
    try {
      for await (const page of pages) {
        if (page.logEntries.length === 0) continue;
        const entries = page.logEntries.map((e) => localEntry(req.logType, e));
        const result = await store.append(tenantId, entries);
        fetched += entries.length;
        stored += result.accepted;
        duplicates += result.duplicates;
        // Entries sharing the last instant may continue on the next page: everything *before* it is complete.
        const last = entries[entries.length - 1]!.eventTimeMs;
        if (last > through) {
          through = last;
          await save(through);
        }
        req.onPage?.(fetched, page.records.totalRecords);
      }
      through = Math.max(through, req.untilMs);
      await save(through);
    } catch (err) {
      if (!isLogsApiError(err, 'aborted')) throw err;
      interrupted = true;
    }
  }
  let check: MirrorCheck | undefined;
  if (checkpoint && req.check !== false && !req.signal?.aborted) {
    const start = await checkStart(store, tenantId, req);
    if (start !== undefined && start.fromMs < fromMs) {
      check = await checkMirrored(store, tenantId, client, {
        logType: req.logType,
        fromMs: start.fromMs,
        fallbackFroms: start.fallbackFroms,
        toMs: fromMs,
        pageSize: req.pageSize,
        signal: req.signal,
      });
      recovered = check.recovered;
      if (recovered > 0) await save(through);
    }
  }
  const deletedBefore = req.sourceRetentionMs === undefined ? undefined : req.untilMs - req.sourceRetentionMs;
  const pastSourceRetention =
    checkpointMs !== undefined && deletedBefore !== undefined && checkpointMs < deletedBefore
      ? { fromMs: checkpointMs, toMs: deletedBefore, retentionMs: req.sourceRetentionMs! }
      : undefined;
  const sinceBeforeSourceRetention =
    checkpointMs === undefined && deletedBefore !== undefined && req.sinceMs < deletedBefore
      ? { fromMs: deletedBefore, retentionMs: req.sourceRetentionMs! }
      : undefined;
  const silentAfterMs = req.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS;
  const silent = fetched === 0 && storedBefore > 0 && !(await hasEntriesSince(store, tenantId, req.logType, req.untilMs - silentAfterMs));
  return {
    logType: req.logType,
    fromMs,
    untilMs: req.untilMs,
    fetched,
    stored,
    duplicates,
    throughMs: through,
    storedBefore,
    silent,
    silentAfterMs,
    ...(check ? { check } : {}),
    ...(interrupted ? { interrupted } : {}),
    ...(pastSourceRetention ? { pastSourceRetention } : {}),
    ...(sinceBeforeSourceRetention ? { sinceBeforeSourceRetention } : {}),
  };
}

/** One type's result in a round: its report, or why it failed. */
export interface TypeOutcome {
  readonly logType: string;
  readonly report?: MirrorReport;
  readonly error?: string;
}

/** A pass over several types of one source, as `logwarden sync` runs it (repeatedly with --follow). */
export interface MirrorRound {
  readonly source: string;
  readonly tenant: string;
  readonly startedAt: string;
  readonly outcomes: TypeOutcome[];
  /** What the operator should hear of: failed types, and types newly silent. */
  readonly warnings: string[];
}

export interface MirrorRoundRequest extends Omit<MirrorRequest, 'logType' | 'onPage' | 'retainedFromMs' | 'sourceRetentionMs'> {
  readonly types: readonly string[];
  /** How long the source keeps a type's entries, when it deletes them (see MirrorRequest.sourceRetentionMs). */
  readonly sourceRetention?: ((logType: string) => number | undefined) | undefined;
  /** The local retention's cutoff for a type (see MirrorRequest.retainedFromMs). */
  readonly retainedFrom?: ((logType: string) => number | null | undefined) | undefined;
  /** Progress of one type's run: `update` per page, `stop` once it ends. */
  readonly progress?: (logType: string) => { update(done: number, total: number): void; stop(): void };
}

const HOUR_MS = 3_600_000;
const hours = (ms: number) => (ms % HOUR_MS === 0 ? `${ms / HOUR_MS} h` : `${Math.round(ms / 60_000)} min`);
const iso = (ms: number) => new Date(ms).toISOString();

const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

/** The --overlap that makes the next run (starting about `nowMs`) read back to `fromMs` again: whole hours, or days past two. */
export function overlapBackTo(fromMs: number, nowMs: number): string {
  const h = Math.max(1, Math.ceil((nowMs - fromMs) / HOUR_MS) + 1);
  return h > 48 ? `${Math.ceil(h / 24)}d` : `${h}h`;
}

/** Whether the check found the mirror incomplete even after reading the range again. */
export function isIncomplete(report: MirrorReport | undefined): boolean {
  return (report?.check?.stillMissing ?? 0) > 0;
}

/** What the operator must hear of a completeness check: entries recovered, or still missing; nothing when the range was complete. */
export function checkWarning(logType: string, c: MirrorCheck, nowMs: number): string | undefined {
  const range = `from ${iso(c.fromMs)} to ${iso(c.toMs)}`;
  if (c.stillMissing > 0) {
    return (
      `${logType}: the mirror is incomplete: ${range} the source holds more entries than the mirror ` +
      `(${c.sourceCount} against ${c.mirrorCount}), and ${entries(c.stillMissing)} ${c.stillMissing === 1 ? 'is' : 'are'} still missing` +
      `${c.recovered > 0 ? ` after ${entries(c.recovered)} were recovered by reading the range again` : ' after reading the range again'}; ` +
      `run sync again with --overlap ${overlapBackTo(c.fromMs, nowMs)} to read back to ${iso(c.fromMs)}, ` +
      `and if they stay missing compare that range of the source and the mirror (logwarden fetch)`
    );
  }
  if (c.recovered > 0) {
    return (
      `${logType}: ${entries(c.recovered)} ${range} reached the source after earlier runs had read past them ` +
      `(later than --overlap allows for); read again and stored now, so the mirror holds all that the source holds there. ` +
      `If entries often arrive this late, raise --overlap`
    );
  }
  return undefined;
}

const daysText = (ms: number) => {
  const days = Math.round(ms / 86_400_000);
  return days === 1 ? '1 day' : `${days} days`;
};

/** What the operator must hear of a mirror that fell further behind than the source keeps its entries. */
export function pastRetentionWarning(logType: string, past: NonNullable<MirrorReport['pastSourceRetention']>): string {
  return (
    `${logType}: the earlier runs left the mirror complete only through ${iso(past.fromMs)}, and the source keeps ${logType} ` +
    `${daysText(past.retentionMs)}: entries it held from ${iso(past.fromMs)} to ${iso(past.toMs)} may have been deleted there ` +
    'before this run read them, and are then lost to the mirror. Run sync more often than that, and check that it runs ' +
    '(logwarden tenants mirrors --stale-after)'
  );
}

/**
 * One pass over every type; a failing type is reported and the others still run. `silent`
 * holds the types already reported silent, so a repeated mirror warns once per silence, not every round.
 */
export async function mirrorTypes(target: MirrorTarget, client: LogsClient, req: MirrorRoundRequest, silent: Set<string>): Promise<MirrorRound> {
  const { types, progress, retainedFrom, sourceRetention, ...common } = req;
  const round: MirrorRound = { source: target.source, tenant: target.tenantId, startedAt: iso(req.untilMs), outcomes: [], warnings: [] };
  const refused = new Map<string, { message: string; types: string[] }>();
  for (const logType of types) {
    if (req.signal?.aborted) break;
    const bar = progress?.(logType);
    try {
      const report = await mirrorType(target, client, {
        ...common,
        logType,
        retainedFromMs: retainedFrom?.(logType),
        sourceRetentionMs: sourceRetention?.(logType),
        onPage: (done, total) => bar?.update(done, total),
      });
      round.outcomes.push({ logType, report });
      if (report.pastSourceRetention) round.warnings.push(pastRetentionWarning(logType, report.pastSourceRetention));
      if (report.sinceBeforeSourceRetention) {
        const { fromMs, retentionMs } = report.sinceBeforeSourceRetention;
        round.warnings.push(
          `${logType}: the source keeps ${logType} ${daysText(retentionMs)}, so it no longer holds what --since asks for before ${iso(fromMs)}: ` +
            'the mirror begins there, with what the source still has',
        );
      }
      const gap = report.check && checkWarning(logType, report.check, req.untilMs);
      if (gap) round.warnings.push(gap);
      if (!report.silent) silent.delete(logType);
      else if (!silent.has(logType)) {
        silent.add(logType);
        round.warnings.push(
          `${logType}: no new entry for more than ${hours(report.silentAfterMs)} (none since ${iso(report.untilMs - report.silentAfterMs)}), ` +
            `although ${report.storedBefore} were mirrored before; if this type should have activity, check the source and the key's permissions ` +
            `(--silent-after sets how long a quiet type is normal)`,
        );
      }
    } catch (err) {
      if (isLogsApiError(err, 'aborted')) break;
      const message = err instanceof Error ? err.message : String(err);
      round.outcomes.push({ logType, error: message });
      if (isLogsApiError(err, 'unauthorized')) {
        // Keyed by what the source said, not by the request ids the messages carry.
        const why = `${err.status} ${err.messages.join('; ')}`;
        const seen = refused.get(why);
        if (seen) seen.types.push(logType);
        else refused.set(why, { message, types: [logType] });
      } else round.warnings.push(`${logType}: ${message}`);
    } finally {
      bar?.stop();
    }
  }
  // Credentials refused alike for several types are said once (a wrong secret fails them all).
  for (const { message, types: refusedTypes } of refused.values()) {
    round.warnings.push(
      refusedTypes.length === 1
        ? `${refusedTypes[0]}: ${message}`
        : `${refusedTypes.join(', ')}: the source refused the credentials (${message}); check the access key and secret (or token) and their scopes`,
    );
  }
  return round;
}
