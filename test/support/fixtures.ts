/** The golden pages in Gong's format (test/fixtures/gong/), one per log type, as raw text. */
import { readFileSync } from 'node:fs';
import { arrayElements, minify, objectMembers, skipWs } from '../../src/logs/json-text.ts';
import { GONG_LOG_TYPES } from '../../src/logs/log-types.ts';

export interface GoldenPage {
  readonly logType: string;
  /** The whole page as published. */
  readonly text: string;
  /** Each entry's raw text, minified (insignificant whitespace removed, every token kept). */
  readonly entries: readonly string[];
  /** The `logEntries` array's raw text, ready to post as an ingest batch. */
  readonly entriesText: string;
}

export function goldenPages(): GoldenPage[] {
  return GONG_LOG_TYPES.map((logType) => {
    const text = readFileSync(new URL(`../fixtures/gong/${logType}.json`, import.meta.url), 'utf8');
    const list = objectMembers(text, skipWs(text, 0)).find((m) => m.key === 'logEntries')!;
    const entries = arrayElements(text, list.start).map(([s, e]) => minify(text, s, e));
    return { logType, text, entries, entriesText: text.slice(list.start, list.end) };
  });
}

/** A JSON ingest batch of a golden page's entries, keeping their raw text. */
export function goldenBatch(page: GoldenPage): string {
  return `{"logType":${JSON.stringify(page.logType)},"logEntries":${page.entriesText}}`;
}
