/**
 * The completeness check after a mirror's pass over one log type (see mirror-logs.ts). The
 * overlap window catches entries that reach the source a little late; one that arrives later
 * than that, dated before the window, is never read by the pass. So after the pass the part
 * already mirrored, [start, the window's start), is counted on both sides: the source's
 * `records.totalRecords` of a one-entry query (only `GET /v2/logs`, so Gong itself will do)
 * against the local store's count. When the source holds more, the range is halved by more
 * such counts down to the stretches that differ, those are read again (appends are
 * idempotent, so what is there already is only counted as a duplicate), and the whole range
 * is counted again for the verdict.
 *
 * Identical entries (same type and wire text) are stored once, as ingest stores them: a source
 * holding copies has more entries than the mirror there for good. Re-reading such a stretch
 * shows them, and they are counted apart, not as missing.
 */
import type { LogsClient } from '../client/index.ts';
import type { Store } from '../store/store.ts';
import { localEntry } from './mirror-entry.ts';

export interface MirrorCheck {
  /** The range checked: from the mirror's start for the type (or the run's --since, if earlier) to the start of the run's overlap window (exclusive). */
  readonly fromMs: number;
  readonly toMs: number;
  /** The source's entries in the range, at the first count. */
  readonly sourceCount: number;
  /** The mirror's entries in the range before any was recovered. */
  readonly mirrorCount: number;
  /** Entries the source held there that the mirror lacked (0: complete). */
  readonly missing: number;
  /** Entries stored by re-reading the stretches that differed. */
  readonly recovered: number;
  /** Entries the source holds more than once (the mirror keeps one of each), found while re-reading. */
  readonly identical: number;
  /** Entries still missing after the re-read, by a final count of both sides: 0 means the range is complete. */
  readonly stillMissing: number;
  /** Requests sent to the source for the check and the re-read. */
  readonly requests: number;
}

export interface CheckRequest {
  readonly logType: string;
  readonly fromMs: number;
  readonly toMs: number;
  /**
   * Later starts to judge by, in order, when the source holds fewer entries than the mirror from
   * `fromMs` (it deleted old ones); the week before `toMs` comes last.
   */
  readonly fallbackFroms?: readonly number[] | undefined;
  readonly pageSize?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** A page when the source ignores `limit` (Gong) or none is given. */
const DEFAULT_PAGE = 100;

/**
 * The stretch counted again when the source holds fewer entries than the mirror over the whole
 * range: a source that deletes its old entries (Gong keeps AccessLog 14 days) has fewer there for
 * good, which would hide entries it lacks nearer the window. A week before the window is within
 * any retention Gong publishes.
 */
export const RECENT_CHECK_MS = 7 * 86_400_000;

interface Stretch {
  readonly fromMs: number;
  readonly toMs: number;
  readonly source: number;
  readonly mirror: number;
}

export async function checkMirrored(store: Store, tenantId: string, client: LogsClient, req: CheckRequest): Promise<MirrorCheck> {
  const { logType, signal } = req;
  let requests = 0;
  const sourceCount = async (fromMs: number, toMs: number): Promise<number> => {
    requests++;
    const page = await client.listLogs({
      logType,
      fromDateTime: new Date(fromMs).toISOString(),
      toDateTime: new Date(toMs).toISOString(),
      limit: 1,
      signal,
    });
    return page.records.totalRecords;
  };
  const mirrorCount = async (fromMs: number, toMs: number): Promise<number> => (await store.firstPage({ tenantId, logType, fromMs, toMs }, 1)).total;

  const stretch = async (fromMs: number, toMs: number): Promise<Stretch> => ({
    fromMs,
    toMs,
    source: await sourceCount(fromMs, toMs),
    mirror: await mirrorCount(fromMs, toMs),
  });
  let whole = await stretch(req.fromMs, req.toMs);
  // The source deleted old entries (its retention): judge a later stretch on its own, the
  // widest that the source still holds whole.
  for (const from of [...(req.fallbackFroms ?? []), req.toMs - RECENT_CHECK_MS]) {
    if (whole.source >= whole.mirror) break;
    if (from > whole.fromMs && from < req.toMs) whole = await stretch(from, req.toMs);
  }
  const missing = Math.max(0, whole.source - whole.mirror);
  const result = { fromMs: whole.fromMs, toMs: whole.toMs, sourceCount: whole.source, mirrorCount: whole.mirror, missing };
  if (missing === 0) return { ...result, recovered: 0, identical: 0, stillMissing: missing, requests };

  const pageSize = req.pageSize ?? DEFAULT_PAGE;
  // Halving costs one count per step; reading a stretch again costs a request per page. Never
  // spend more on counts than reading the whole range again would cost.
  const maxCounts = Math.max(8, Math.ceil(whole.source / pageSize));
  let counts = 0;
  let recovered = 0;
  let identical = 0;
  const stack: Stretch[] = [whole];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (s.source <= s.mirror) continue;
    if (s.source > 4 * pageSize && s.toMs - s.fromMs > 1 && counts < maxCounts) {
      const mid = s.fromMs + Math.floor((s.toMs - s.fromMs) / 2);
      counts++;
      const first: Stretch = { fromMs: s.fromMs, toMs: mid, source: await sourceCount(s.fromMs, mid), mirror: await mirrorCount(s.fromMs, mid) };
      // The later half by difference (the source may change meanwhile: the final count has the last word).
      stack.push({ fromMs: mid, toMs: s.toMs, source: s.source - first.source, mirror: s.mirror - first.mirror }, first);
      continue;
    }
    let fetched = 0;
    const keys = new Set<string>();
    const pages = client.pages({
      logType,
      fromDateTime: new Date(s.fromMs).toISOString(),
      toDateTime: new Date(s.toMs).toISOString(),
      limit: req.pageSize,
      signal,
    });
    for await (const page of pages) {
      requests++;
      if (page.logEntries.length === 0) continue;
      const entries = page.logEntries.map((e) => localEntry(logType, e));
      recovered += (await store.append(tenantId, entries)).accepted;
      fetched += entries.length;
      for (const e of entries) keys.add(e.key.toString('base64'));
    }
    // Copies share their wire text, hence their event time: they never straddle two stretches.
    identical += fetched - keys.size;
  }
  const source = await sourceCount(whole.fromMs, whole.toMs);
  const mirror = await mirrorCount(whole.fromMs, whole.toMs);
  return { ...result, recovered, identical, stillMissing: Math.max(0, source - identical - mirror), requests };
}
