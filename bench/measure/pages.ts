/**
 * `deepPage` and `firstPageTotal`: the latency of a cursor page deep in the ten-million-entry
 * range against that of a first page, whose totalRecords counts the whole range
 * (SPEC §10: deep ÷ first at most 1.5).
 *
 * Reaching page 90,000 by paging would take a client an hour, so the deep cursors are made
 * here with the server's signing key, for positions found through the store: they carry what
 * the server's own cursor for that page would (snapshot, position, page number, total), and the
 * server handles them exactly as such.
 */
import { CursorCodec } from '../../src/logs/cursor.ts';
import { type Instant, parseDateTime } from '../../src/logs/time.ts';
import type { EntryQuery } from '../../src/store/store.ts';
import { expect } from '../lib/http.ts';
import { median, percentile, round } from '../lib/stats.ts';
import { authHeader, firstPagePath, iso, lcg, type Target } from '../lib/target.ts';

const PAGE = 100;
const HOUR_MS = 3_600_000;

export interface PagesOptions {
  /** Distinct ranges (and deep positions) the samples rotate through. */
  readonly ranges: number;
  /** Timed requests of each kind. */
  readonly samples: number;
}

export interface LatencyFigures {
  readonly medianMs: number;
  readonly p99Ms: number;
}

export interface PagesFigures {
  readonly first: LatencyFigures & { readonly totalRecords: number; readonly minTotalRecords: number };
  readonly deep: LatencyFigures & { readonly minPageNumber: number; readonly maxPageNumber: number };
  readonly ratio: number;
}

function instant(ms: number): Instant {
  const r = parseDateTime(iso(ms));
  if (!r.ok) throw new Error(r.problem);
  return r.instant;
}

interface Probe {
  readonly firstPath: string;
  readonly deepPath: string;
  readonly deepPage: number;
}

/** One range per probe: the whole data set first, then ranges with ragged ends (the count's worst case). */
async function probes(t: Target, o: PagesOptions): Promise<Probe[]> {
  const store = await t.openStore();
  const codec = new CursorCodec(t.signingKey);
  const rnd = lcg(17);
  const out: Probe[] = [];
  try {
    for (let i = 0; i < o.ranges; i++) {
      const fromMs = t.dataset.fromMs + (i === 0 ? 0 : Math.floor(rnd() * 2 * HOUR_MS));
      const toMs = t.dataset.toMs - (i === 0 ? 0 : Math.floor(rnd() * 2 * HOUR_MS));
      const query: EntryQuery = { tenantId: t.dataset.tenantId, logType: t.dataset.logType, fromMs, toMs };
      const first = await store.firstPage(query, 1);
      // A position 85-99% of the way through the range: the entry the previous page ended with.
      const at = fromMs + Math.floor((toMs - fromMs) * (0.85 + 0.14 * rnd()));
      // (A page of one entry, followed by others, resumes after that entry.)
      const last = (await store.nextPage(query, { timeMs: at, seq: 0 }, first.watermark, 1)).next;
      if (!last) throw new Error('no entry deep in the range');
      const before = (await store.firstPage({ ...query, toMs: last.timeMs }, 1)).total;
      const page = Math.floor(before / PAGE) + 1;
      const cursor = codec.encode({
        tenantId: t.dataset.tenantId,
        logType: t.dataset.logType,
        from: instant(fromMs),
        to: instant(toMs),
        limit: PAGE,
        watermark: first.watermark,
        afterTimeMs: last.timeMs,
        afterSeq: last.seq,
        page,
        total: first.total,
        expiresMs: Date.now() + 6 * HOUR_MS,
      });
      out.push({ firstPath: firstPagePath(t, fromMs, toMs), deepPath: `/v2/logs?cursor=${cursor}`, deepPage: page });
    }
  } finally {
    await store.close();
  }
  return out;
}

interface PageRecords {
  records: { totalRecords: number; currentPageSize: number; currentPageNumber: number };
}

export async function measurePages(t: Target, o: PagesOptions): Promise<PagesFigures> {
  const headers = authHeader(t);
  const list = await probes(t, o);
  const totals: number[] = [];
  // Warm-up, and a check that the answers are what they claim to be.
  for (const p of list) {
    for (let k = 0; k < 3; k++) {
      const first = JSON.parse((await expect(200, t.server.url + p.firstPath, { headers })).body) as PageRecords;
      const deep = JSON.parse((await expect(200, t.server.url + p.deepPath, { headers })).body) as PageRecords;
      if (deep.records.currentPageNumber !== p.deepPage || deep.records.currentPageSize !== PAGE || first.records.currentPageSize !== PAGE) {
        throw new Error(`unexpected pages: ${JSON.stringify([first.records, deep.records])}`);
      }
      if (k === 0) totals.push(first.records.totalRecords);
    }
  }
  // Interleaved, so that any drift of the machine affects both kinds alike.
  const firstMs: number[] = [];
  const deepMs: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    const p = list[i % list.length]!;
    firstMs.push((await expect(200, t.server.url + p.firstPath, { headers })).ms);
    deepMs.push((await expect(200, t.server.url + p.deepPath, { headers })).ms);
  }
  const first = median(firstMs);
  const deep = median(deepMs);
  return {
    first: { medianMs: round(first, 3), p99Ms: round(percentile(firstMs, 99), 3), totalRecords: totals[0]!, minTotalRecords: Math.min(...totals) },
    deep: {
      medianMs: round(deep, 3),
      p99Ms: round(percentile(deepMs, 99), 3),
      minPageNumber: Math.min(...list.map((p) => p.deepPage)),
      maxPageNumber: Math.max(...list.map((p) => p.deepPage)),
    },
    ratio: round(deep / first, 3),
  };
}
