/**
 * Browsing one tenant's logs: log-type tabs, a time range, the entries in ascending time with
 * paging by cursor (a button and infinite scroll) or newest first (time windows read from the
 * end of the range back, see newest-first.ts), a filter to one user (server-side, exact), a
 * free-text filter over the loaded entries, one entry in a side panel, a live tail, and export.
 *
 * The table renders only the rows in and near the window (virtual rows of one fixed height,
 * spacers standing for the rest), so tens of thousands of loaded entries scroll as a few dozen.
 */
import { memo } from 'preact/compat';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fetchHistogram, fetchLogTypes, fetchPage, type HourCount, type LogsQuery, type UserFilter } from './api.ts';
import { EntryPanel } from './entry-panel.tsx';
import { downloadSink, exportEntries, fileSink } from './export.ts';
import { HistogramChart } from './histogram.tsx';
import { type Checkpoint, checkInclusion, checkLog, IntegrityError, type LogCheck, tokenTenant } from './integrity.ts';
import { NewestFirst } from './newest-first.ts';
import { type Row, wireText } from './page.ts';
import { ConsoleError, EXPIRED_MESSAGE, type Session } from './session.ts';
import { summarize } from './summary.ts';
import { formatTime, fromInputValue, isLaterReading, localInstants, localReading, PRESETS, type Range, rangeBounds, toInputValue } from './time.ts';
import { entryLink, formatHash, parseHash } from './view-state.ts';

const PAGE = 200;
const TAIL_PAGE = 1000;
/** Entries a newest-first window is sized to hold (read in pages of TAIL_PAGE). */
const WINDOW = 500;
/** `cursor` while a newest-first table has older windows to read. */
const OLDER = 'older';
export const TAIL_EVERY_MS = 2000;
/** Height of a table row in CSS pixels (console.css keeps every row at it). */
const ROW_PX = 56;
/** Rows rendered beyond each edge of the window. */
const OVERSCAN = 20;
/** Height of the sticky table header, kept clear when a row is scrolled into view. */
const HEAD_PX = 40;

interface RowProps {
  row: Row;
  index: number;
  /** Its place among the table's rows (ARIA, from 1, the header row being 1). */
  rowIndex: number;
  logType: string;
  utc: boolean;
  selected: boolean;
  /** The table's one Tab stop (the others are reached with the arrow keys). */
  tabbable: boolean;
  open: (i: number) => void;
}

/**
 * A custom range's bound: a date and time to the millisecond. A local time the clocks showed
 * twice (the hour repeated when they go back) comes with a choice of the two, by their offsets.
 */
function Bound(props: { label: string; value: string; set: (v: string) => void; utc: boolean; later: boolean; setLater: (later: boolean) => void }) {
  const { label, value, set, utc, later, setLater } = props;
  const both = utc ? [] : localInstants(value);
  const offset = (ms: number) => formatTime(ms, false).split(' ')[2];
  return (
    <>
      <label>
        {label} <input type="datetime-local" step="0.001" value={value} onInput={(e) => set((e.currentTarget as HTMLInputElement).value)} />
      </label>
      {both.length === 2 && (
        <label>
          {label} {value.slice(11, 16)} is{' '}
          <select value={later ? 'second' : 'first'} onChange={(e) => setLater((e.currentTarget as HTMLSelectElement).value === 'second')}>
            <option value="first">the first ({offset(both[0]!)})</option>
            <option value="second">the second ({offset(both[1]!)})</option>
          </select>
        </label>
      )}
    </>
  );
}

const EntryRow = memo(function EntryRow({ row, index, rowIndex, logType, utc, selected, tabbable, open }: RowProps) {
  const impersonator = row.impersonatorFullName ?? row.impersonatorEmailAddress ?? row.impersonatorUserId;
  return (
    <tr class={selected ? 'row selected' : 'row'} data-index={index} aria-rowindex={rowIndex}>
      <td class="time">
        <button
          type="button"
          class="link"
          tabIndex={tabbable ? 0 : -1}
          onClick={() => open(index)}
          aria-label={`Open entry of ${formatTime(row.ms, utc)}`}
        >
          {formatTime(row.ms, utc)}
        </button>
      </td>
      <td class="user">
        <span class="name">
          {row.userFullName ?? row.userId ?? '—'}
          {impersonator !== undefined && (
            <span class="badge" title={`Impersonated by ${impersonator}`}>
              impersonated by {impersonator}
            </span>
          )}
        </span>
        {row.userEmailAddress && <span class="email">{row.userEmailAddress}</span>}
      </td>
      <td class="summary">
        <div class="clip">{summarize(logType, row)}</div>
      </td>
    </tr>
  );
});

/** A line of the table: an entry (`index` into the loaded rows), or the "new entries" marker. */
type Line = { readonly row: Row; readonly index: number } | { readonly marker: true };

/** Where the arrow, page and home/end keys move focus from line `at` of `count`. */
function targetLine(key: string, at: number, count: number): number | undefined {
  const page = Math.max(1, Math.floor(innerHeight / ROW_PX) - 1);
  const to =
    key === 'ArrowDown'
      ? at + 1
      : key === 'ArrowUp'
        ? at - 1
        : key === 'PageDown'
          ? at + page
          : key === 'PageUp'
            ? at - page
            : key === 'Home'
              ? 0
              : key === 'End'
                ? count - 1
                : undefined;
  return to === undefined ? undefined : Math.max(0, Math.min(count - 1, to));
}

/** What the log check found: the checkpoint the view is checked against, or why none is. */
function IntegrityBadge(props: { check: LogCheck | undefined; onTrust: (key: string) => void }) {
  const c = props.check;
  if (c === undefined) return <p class="integrity muted">Checking the log’s signed checkpoint…</p>;
  if (c.ok) {
    return (
      <p class="integrity ok" role="status">
        <span aria-hidden="true">✓ </span>
        Checkpoint {c.checkpoint.size} (tree size {c.checkpoint.size}) verified, signed by {c.key.name}
        {c.firstUse ? '; its key is now pinned in this browser (first use).' : ' with the key pinned in this browser.'} An entry is checked against it
        with “Check inclusion”.
      </p>
    );
  }
  return (
    <div class="integrity failed" role="alert">
      <p>
        <span aria-hidden="true">✗ </span>Log check failed: {c.message}
      </p>
      {c.changedKey && (
        <>
          <p class="keys">
            Pinned: <code>{c.changedKey.pinned}</code>
            <br />
            Served now: <code>{c.changedKey.served}</code>
          </p>
          <p>If the operator has told you the key was replaced, trust the new one; otherwise treat this log as suspect.</p>
          <button type="button" onClick={() => props.onTrust(c.changedKey!.served)}>
            Trust the new key
          </button>
        </>
      )}
    </div>
  );
}

export function Browse(props: { session: Session; onSignOut: (message?: string) => void }) {
  const { session, onSignOut } = props;
  const initial = useMemo(() => parseHash(location.hash), []);
  const [types, setTypes] = useState<string[]>([]);
  const [logType, setLogType] = useState(initial.logType ?? 'AccessLog');
  const [range, setRange] = useState<Range>(initial.range);
  const [utc, setUtc] = useState(initial.utc);
  const [filter, setFilter] = useState('');
  const [user, setUser] = useState<UserFilter | undefined>(initial.user);
  const [newestFirst, setNewestFirst] = useState(initial.newestFirst === true);
  const [userField, setUserField] = useState<UserFilter['field']>(initial.user?.field ?? 'userEmailAddress');
  const [userValue, setUserValue] = useState(initial.user?.value ?? '');
  const [window_, setWindow] = useState({ start: 0, end: 60 });
  const [focusLine, setFocusLine] = useState<number | undefined>();
  const tbody = useRef<HTMLTableSectionElement>(null);
  const exportStop = useRef<AbortController | undefined>(undefined);
  const [rows, setRows] = useState<Row[]>([]);
  const [total, setTotal] = useState<number | undefined>();
  const [cursor, setCursor] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>();
  /** What is wrong with a custom range typed in (not a failed read: paging goes on). */
  const [rangeProblem, setRangeProblem] = useState<string | undefined>(initial.problem);
  const [selected, setSelected] = useState<number | undefined>(initial.entry);
  const [lastFocused, setLastFocused] = useState<number | undefined>(undefined);
  const [tail, setTail] = useState(false);
  const [tailNote, setTailNote] = useState('');
  const [newFrom, setNewFrom] = useState<number | undefined>();
  const [exporting, setExporting] = useState<string | undefined>();
  const [exportBusy, setExportBusy] = useState(false);
  const [hours, setHours] = useState<{ list: HourCount[]; fromMs: number; toMs: number } | undefined>();
  // A custom range from a link shows its bounds, to the millisecond.
  const [customFrom, setCustomFrom] = useState(() =>
    initial.range.preset === 'custom' ? toInputValue(Date.parse(initial.range.from), initial.utc) : '',
  );
  const [customTo, setCustomTo] = useState(() => (initial.range.preset === 'custom' ? toInputValue(Date.parse(initial.range.to), initial.utc) : ''));
  // Which reading of a local time shown twice each bound means: the second (else the first).
  const [fromLater, setFromLater] = useState(
    () => initial.range.preset === 'custom' && !initial.utc && isLaterReading(Date.parse(initial.range.from)),
  );
  const [toLater, setToLater] = useState(() => initial.range.preset === 'custom' && !initial.utc && isLaterReading(Date.parse(initial.range.to)));
  const query = useRef<LogsQuery>({ logType, fromDateTime: '' });
  const tenantId = useMemo(() => tokenTenant(session.token), [session.token]);
  const [logCheck, setLogCheck] = useState<LogCheck | undefined>();
  /** The newest-first reader of the view, when the table is newest first. */
  const older = useRef<NewestFirst | undefined>(undefined);
  const generation = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);
  const tailBusy = useRef(false);
  /** A page read of the current view under way (state updates land a render later; this guards at once). */
  const inFlight = useRef(false);
  const latest = useRef({ rows, cursor, loading, error });
  latest.current = { rows, cursor, loading, error };

  /** Whether the end of the table is on screen now (the observer's last report may be older than the rows). */
  const endInView = () => {
    const r = sentinel.current?.getBoundingClientRect();
    return r !== undefined && r.top < innerHeight && r.bottom > 0;
  };

  /** Set by the live tail when it adds rows while the end is in view: the next render scrolls there again. */
  const followEnd = useRef(false);
  // The tail follows the end as `tail -f` does: rows it adds below do not push the end out of
  // view (which would pause it as if the reader had scrolled away).
  useEffect(() => {
    if (!followEnd.current) return;
    followEnd.current = false;
    scrollTo({ top: document.documentElement.scrollHeight });
  }, [rows]);

  // Leaving the view (signing out) stops an export under way.
  useEffect(() => () => exportStop.current?.abort(), []);

  const fail = (err: unknown) => {
    if (err instanceof DOMException && err.name === 'AbortError') return;
    if (err instanceof ConsoleError && err.expired) onSignOut(err.message);
    else setError(err instanceof ConsoleError ? err.message : 'Something went wrong; see the browser console.');
    if (!(err instanceof ConsoleError)) console.error(err);
  };

  useEffect(() => {
    void fetchLogTypes().then(setTypes);
    const left = Math.min(session.expiresAt - Date.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => onSignOut(EXPIRED_MESSAGE), Math.max(left, 0));
    const onHash = () => {
      const v = parseHash(location.hash);
      if (v.logType) setLogType(v.logType);
      setRange(v.range);
      setUtc(v.utc);
      setSelected(v.entry);
      setUser(v.user);
      setNewestFirst(v.newestFirst === true);
      // The toolbar shows what the link chose: its custom range's bounds and its user.
      if (v.range.preset === 'custom') {
        setCustomFrom(toInputValue(Date.parse(v.range.from), v.utc));
        setCustomTo(toInputValue(Date.parse(v.range.to), v.utc));
        setFromLater(!v.utc && isLaterReading(Date.parse(v.range.from)));
        setToLater(!v.utc && isLaterReading(Date.parse(v.range.to)));
      }
      setUserField(v.user?.field ?? 'userEmailAddress');
      setUserValue(v.user?.value ?? '');
      setRangeProblem(v.problem);
    };
    addEventListener('hashchange', onHash);
    const io = new IntersectionObserver((es) => es.some((e) => e.isIntersecting) && fillView());
    if (sentinel.current) io.observe(sentinel.current);
    return () => {
      clearTimeout(timer);
      removeEventListener('hashchange', onHash);
      io.disconnect();
    };
  }, []);

  // A new type, range, user or order: start again from its first page (ascending) or its end.
  useEffect(() => {
    const gen = ++generation.current;
    const now = Date.now();
    const q: LogsQuery = { logType, ...rangeBounds(range, now), user };
    query.current = q;
    older.current = undefined;
    runLogCheck();
    setHours(undefined);
    const hourly = fetchHistogram(session, q)
      .then((list) => {
        if (gen === generation.current) setHours({ list, fromMs: Date.parse(q.fromDateTime), toMs: q.toDateTime ? Date.parse(q.toDateTime) : now });
        return list;
      })
      .catch((err: unknown): HourCount[] => {
        // Without its histogram the view still works; an ended session is said once, by the page read.
        if (!(err instanceof ConsoleError)) console.error(err);
        return [];
      });
    setRows([]);
    setTotal(undefined);
    setCursor(undefined);
    setNewFrom(undefined);
    setError(undefined);
    setLoading(true);
    inFlight.current = true;
    if (newestFirst) {
      // The exact total from a one-entry page; the newest window sized by the hourly counts.
      const iso = (ms: number) => new Date(ms).toISOString();
      const reader = (list: readonly HourCount[]) =>
        new NewestFirst(
          (fromMs, toMs, c) =>
            fetchPage(
              session,
              { logType: q.logType, fromDateTime: iso(fromMs), toDateTime: toMs === null ? undefined : iso(toMs), user: q.user },
              { cursor: c, limit: TAIL_PAGE },
            ),
          Date.parse(q.fromDateTime),
          q.toDateTime ? Date.parse(q.toDateTime) : null,
          list,
          now,
          WINDOW,
        );
      Promise.all([fetchPage(session, q, { limit: 1 }), hourly])
        .then(async ([head, list]) => {
          if (gen !== generation.current) return;
          setTotal(head.total);
          const r = reader(list);
          older.current = r;
          const first = await r.next();
          if (gen !== generation.current) return;
          setRows(first);
          setCursor(r.done ? undefined : OLDER);
        })
        .catch(fail)
        .finally(() => landed(gen));
      return;
    }
    fetchPage(session, q, { limit: PAGE })
      .then((p) => {
        if (gen !== generation.current) return;
        setRows([...p.rows]);
        setTotal(p.total);
        setCursor(p.cursor);
      })
      .catch(fail)
      .finally(() => landed(gen));
  }, [logType, range, user, newestFirst]);

  useEffect(() => {
    history.replaceState(null, '', formatHash({ logType, range, utc, entry: selected, user, newestFirst }));
  }, [logType, range, utc, selected, user, newestFirst]);

  /** Checks the log's latest checkpoint (the badge), against the key pinned in this browser, or `trustKey` (the key shown as served, trusted). */
  const runLogCheck = (trustKey?: string) => {
    if (tenantId === undefined) return setLogCheck({ ok: false, message: 'The session names no tenant, so its log cannot be checked.' });
    checkLog(session, tenantId, trustKey).then(setLogCheck).catch(fail);
  };

  /** The panel's check: the entry's leaf index (asked for its millisecond), then its inclusion proof against the checked checkpoint. */
  const checkEntry = async (row: Row): Promise<string> => {
    if (!logCheck?.ok || tenantId === undefined)
      throw new IntegrityError('the log’s checkpoint is not verified, so nothing can be checked against it.');
    const iso = (ms: number) => new Date(ms).toISOString();
    // The entries of its millisecond, page after page (a burst holds thousands), until it is found.
    let index: number | undefined;
    for (let cursor: string | undefined, found = false; !found; ) {
      const page = await fetchPage(
        session,
        { logType, fromDateTime: iso(row.ms), toDateTime: iso(row.ms + 1) },
        { limit: TAIL_PAGE, leafIndexes: true, ...(cursor !== undefined && { cursor }) },
      );
      const at = page.rows.findIndex((r) => wireText(r) === wireText(row));
      if (at >= 0) {
        found = true;
        index = page.leaves?.[at];
      } else if (page.cursor === undefined) throw new IntegrityError('the server no longer serves this entry with the text shown.');
      else cursor = page.cursor;
    }
    if (index === undefined || !Number.isSafeInteger(index)) throw new IntegrityError('the server gave no leaf index for this entry.');
    let checkpoint: Checkpoint = logCheck.checkpoint;
    if (index >= checkpoint.size) {
      // Logged after the badge's checkpoint: a newer one, checked the same way.
      const again = await checkLog(session, tenantId);
      setLogCheck(again);
      if (!again.ok) throw new IntegrityError(again.message);
      checkpoint = again.checkpoint;
    }
    await checkInclusion(session, tenantId, checkpoint, { logType, eventTime: row.eventTime, wireText: wireText(row), index });
    return `Included in checkpoint ${checkpoint.size} (tree size ${checkpoint.size}) as leaf ${index}; its text as served hashes to that leaf.`;
  };

  /** A page read of generation `gen` is over: unless the view changed meanwhile, the next may start. */
  const landed = (gen: number) => {
    if (gen !== generation.current) return;
    inFlight.current = false;
    setLoading(false);
  };

  const loadMore = () => {
    const { cursor: next, error: failed } = latest.current;
    if (next === undefined || inFlight.current || failed) return;
    const gen = generation.current;
    inFlight.current = true;
    setLoading(true);
    const reader = older.current;
    (reader ? reader.next().then((rows) => ({ rows, cursor: reader.done ? undefined : OLDER })) : fetchPage(session, query.current, { cursor: next }))
      .then((p) => {
        if (gen !== generation.current) return;
        setRows((r) => [...r, ...p.rows]);
        setCursor(p.cursor);
      })
      .catch(fail)
      .finally(() => landed(gen));
  };

  // A link to an entry beyond the pages loaded (the 1,700th of a burst in one millisecond):
  // read on until it is loaded, or say that the range no longer holds it.
  useEffect(() => {
    if (selected === undefined || loading || total === undefined || selected < rows.length) return;
    if (cursor !== undefined) return loadMore();
    setSelected(undefined);
    setError(`The linked entry (number ${selected + 1} of its range) is not there: the range holds ${rows.length}.`);
  }, [selected, loading, cursor, rows.length, total]);

  /**
   * Infinite scroll: whenever the end of the table is on screen and no page is being read, read
   * the next. Asked on every scroll, by the observer, and again after each page lands and is
   * laid out: a scroll to the end that arrives while a page is in flight is otherwise lost (the
   * observer reports only changes, and the sentinel may never leave the screen in between).
   */
  const fillView = () => {
    if (endInView()) loadMore();
  };
  useEffect(() => {
    if (loading || cursor === undefined) return;
    const frame = requestAnimationFrame(fillView);
    return () => cancelAnimationFrame(frame);
  }, [loading, cursor, window_]);

  // Live tail: while on, poll for entries after the last one shown, once every page is loaded
  // and the end of the table is in view (scrolling away pauses it).
  useEffect(() => {
    if (!tail) {
      setTailNote('');
      return;
    }
    const tick = async () => {
      const s = latest.current;
      if (older.current) return setTailNote('Live tail shows new entries in oldest-first order only.');
      if (tailBusy.current || s.loading) return;
      if (s.cursor !== undefined) return setTailNote('Live tail waits until every page of the range is loaded.');
      // Measured at each tick, not taken from the observer's last report, which a table that
      // shrinks under a still page (a new range) may leave stale.
      if (!endInView()) return setTailNote('Live tail paused: scroll to the end of the table to resume.');
      setTailNote('Live tail on: new entries appear at the end.');
      tailBusy.current = true;
      const gen = generation.current;
      try {
        const last = s.rows.at(-1);
        const from = last ? last.eventTime : query.current.fromDateTime;
        const seen = new Set(s.rows.filter((r) => r.eventTime === last?.eventTime).map((r) => r.raw));
        const fresh: Row[] = [];
        let c: string | undefined;
        do {
          const p = await fetchPage(
            session,
            { logType: query.current.logType, fromDateTime: from, user: query.current.user },
            { cursor: c, limit: TAIL_PAGE },
          );
          for (const r of p.rows) if (!seen.has(r.raw)) fresh.push(r);
          c = p.cursor;
        } while (c !== undefined);
        // The range's total now: entries that arrived with an earlier time than the last one
        // shown (late) are in it but not at the end, where the tail adds; they are counted and
        // named, not silently missed.
        const now = await fetchPage(session, query.current, { limit: 1 });
        if (gen !== generation.current) return;
        const late = now.total - (s.rows.length + fresh.length);
        if (fresh.length > 0) {
          // The end was in view when this tick began (checked above), unless scrolled away since.
          followEnd.current = endInView();
          setRows((r) => {
            setNewFrom((n) => n ?? r.length);
            return [...r, ...fresh];
          });
        }
        setTotal(now.total);
        const news = fresh.length > 0 ? `${fresh.length} new ${fresh.length === 1 ? 'entry' : 'entries'}. ` : '';
        if (late > 0) {
          setTailNote(
            `${news}${late} ${late === 1 ? 'entry' : 'entries'} arrived with an earlier time than the newest shown: choose the range again to see ${late === 1 ? 'it' : 'them'} in place.`,
          );
        } else if (news !== '') setTailNote(news.trim());
      } catch (err) {
        fail(err);
      } finally {
        tailBusy.current = false;
      }
    };
    const timer = setInterval(() => void tick(), TAIL_EVERY_MS);
    void tick();
    return () => clearInterval(timer);
  }, [tail]);

  const needle = filter.trim().toLowerCase();
  const keep = (r: Row) => needle === '' || r.raw.toLowerCase().includes(needle);
  const shown = useMemo(() => rows.map((r, i) => [r, i] as const).filter(([r]) => keep(r)), [rows, needle]);
  const lines = useMemo(() => {
    const out: Line[] = [];
    for (const [row, index] of shown) {
      if (index === newFrom) out.push({ marker: true });
      out.push({ row, index });
    }
    return out;
  }, [shown, newFrom]);
  const open = useMemo(() => (i: number) => setSelected(i), []);

  /** The lines in and near the window, from where the table body lies on screen. */
  const measure = () => {
    const body = tbody.current;
    if (!body) return;
    const top = body.getBoundingClientRect().top;
    const first = Math.max(0, Math.floor(-top / ROW_PX));
    const start = Math.max(0, first - OVERSCAN);
    const end = Math.min(latestLines.current.length, first + Math.ceil(innerHeight / ROW_PX) + OVERSCAN);
    setWindow((w) => (w.start === start && w.end === end ? w : { start, end }));
  };
  const latestLines = useRef(lines);
  latestLines.current = lines;
  useEffect(() => {
    measure();
    const onScroll = () => {
      measure();
      fillView();
    };
    addEventListener('scroll', onScroll, { passive: true });
    addEventListener('resize', onScroll);
    return () => {
      removeEventListener('scroll', onScroll);
      removeEventListener('resize', onScroll);
    };
  }, []);
  useEffect(measure, [lines]);

  /** Scrolls line `at` into view (below the sticky header) and renders the window around it. */
  const reveal = (at: number) => {
    const body = tbody.current;
    if (!body) return;
    const y = body.getBoundingClientRect().top + scrollY + at * ROW_PX;
    if (y < scrollY + HEAD_PX) scrollTo({ top: y - HEAD_PX });
    else if (y + ROW_PX > scrollY + innerHeight) scrollTo({ top: y + ROW_PX - innerHeight });
    measure();
  };
  const lineOf = (index: number) => lines.findIndex((l) => 'row' in l && l.index === index);
  /** Keyboard movement between rows, rendered or not: the row is brought into view, then focused. */
  const keys = (e: KeyboardEvent) => {
    const tr = (e.target as HTMLElement).closest('tr');
    const index = Number(tr?.getAttribute('data-index') ?? NaN);
    if (!Number.isInteger(index)) return;
    let to = targetLine(e.key, lineOf(index), lines.length);
    if (to === undefined) return;
    e.preventDefault();
    // The marker is not focusable: step over it.
    if (!('row' in lines[to]!)) to = Math.max(0, Math.min(lines.length - 1, to + (e.key === 'ArrowUp' || e.key === 'PageUp' ? -1 : 1)));
    reveal(to);
    // Focused at once when drawn already (the window's overscan), else once drawn.
    const target = lines[to]!;
    const button = 'row' in target ? tbody.current?.querySelector<HTMLButtonElement>(`tr[data-index="${target.index}"] button`) : null;
    if (button) button.focus({ preventScroll: true });
    else setFocusLine(to);
  };
  useEffect(() => {
    if (focusLine === undefined) return;
    const line = lines[focusLine];
    const button = line && 'row' in line ? tbody.current?.querySelector<HTMLButtonElement>(`tr[data-index="${line.index}"] button`) : null;
    if (button) {
      button.focus({ preventScroll: true });
      setFocusLine(undefined);
    }
  }, [focusLine, window_]);
  // One Tab stop for the whole table (a roving tabindex): the row last focused, else the open
  // entry, else the first row drawn; the arrow, page and home/end keys move between rows.
  const drawn = lines.slice(window_.start, window_.end).flatMap((l) => ('row' in l ? [l.index] : []));
  const tabStop = [lastFocused, selected].find((i) => i !== undefined && drawn.includes(i)) ?? drawn[0];
  const noteFocus = (e: FocusEvent) => {
    const index = Number((e.target as HTMLElement).closest('tr')?.getAttribute('data-index') ?? NaN);
    if (Number.isInteger(index)) setLastFocused(index);
  };
  const current = selected !== undefined ? rows[selected] : undefined;
  let place = 0;
  // Its place among the entries of its millisecond in ascending order (those before it newest first are after it).
  if (current && selected !== undefined) {
    const step = newestFirst ? 1 : -1;
    while (rows[selected + step * (place + 1)]?.ms === current.ms) place++;
  }

  const chooseRange = (id: string) => {
    if (id === 'custom') {
      const b = rangeBounds(range, Date.now());
      const [fromMs, toMs] = [Date.parse(b.fromDateTime), b.toDateTime ? Date.parse(b.toDateTime) : Date.now()];
      setCustomFrom(toInputValue(fromMs, utc));
      setCustomTo(toInputValue(toMs, utc));
      setFromLater(!utc && isLaterReading(fromMs));
      setToLater(!utc && isLaterReading(toMs));
      setRange({ preset: 'custom', from: b.fromDateTime, to: new Date(toMs).toISOString() });
    } else {
      setRange({ preset: id as Exclude<Range['preset'], 'custom'> });
    }
    setSelected(undefined);
  };
  // The custom range's inputs are wall-clock times of the zone shown: switching zones converts
  // them, so that Apply, untouched, keeps the same instants.
  const toggleUtc = (next: boolean) => {
    const convert = (value: string, later: boolean, setLater: (later: boolean) => void) => {
      const iso = fromInputValue(value, utc, later);
      if (iso === undefined) return value;
      setLater(!next && isLaterReading(Date.parse(iso)));
      return toInputValue(Date.parse(iso), next);
    };
    setCustomFrom(convert(customFrom, fromLater, setFromLater));
    setCustomTo(convert(customTo, toLater, setToLater));
    setUtc(next);
  };
  const applyCustom = (e: Event) => {
    e.preventDefault();
    const from = fromInputValue(customFrom, utc, fromLater);
    const to = fromInputValue(customTo, utc, toLater);
    if (!from || !to || Date.parse(from) >= Date.parse(to)) return setRangeProblem('Give a start before the end of the range.');
    // Local times the clocks skipped: said, not guessed silently (one shown twice is chosen beside its input).
    const readings = utc ? [] : [customFrom, customTo].map((v) => [v.replace('T', ' '), localReading(v)] as const);
    const missing = readings.find(([, r]) => r === 'missing');
    if (missing) return setRangeProblem(`${missing[0]} does not exist here: the clocks skipped it. Give another time, or show UTC.`);
    setRangeProblem(undefined);
    setSelected(undefined);
    setRange({ preset: 'custom', from, to });
  };
  const runExport = async (format: 'ndjson' | 'csv') => {
    const name = `${query.current.logType}.${format}`;
    const stop = new AbortController();
    exportStop.current = stop;
    setExportBusy(true);
    try {
      // A file of the user's choosing where the browser can write one; else a download.
      const sink = (await fileSink(name, format)) ?? downloadSink(name, format);
      setExporting('Exporting…');
      const { count } = await exportEntries(
        session,
        query.current,
        format,
        keep,
        (n, total) => setExporting(`Exporting… ${n} entries${needle ? '' : ` of ${total}`}`),
        stop.signal,
        sink,
      );
      setExporting(`Exported ${count} ${count === 1 ? 'entry' : 'entries'} as ${format.toUpperCase()}.`);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') setExporting(stop.signal.aborted ? 'Export cancelled.' : undefined);
      else {
        setExporting(undefined);
        fail(err);
      }
    } finally {
      exportStop.current = undefined;
      setExportBusy(false);
    }
  };
  const applyUser = (e: Event) => {
    e.preventDefault();
    const value = userValue.trim();
    setSelected(undefined);
    setUser(value === '' ? undefined : { field: userField, value });
  };
  const tabKeys = (e: KeyboardEvent) => {
    const i = types.indexOf(logType);
    const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (d === 0 || i < 0) return;
    e.preventDefault();
    const next = types[(i + d + types.length) % types.length]!;
    setLogType(next);
    setSelected(undefined);
    document.getElementById(`tab-${next}`)?.focus();
  };

  return (
    <div class={current ? 'layout with-panel' : 'layout'}>
      <header class="top">
        <h1>logwarden console</h1>
        <nav aria-label="Console">
          <span class="muted">Signed in with key {session.accessKey}</span>
          <a href="docs/">API docs</a>
          <button type="button" onClick={() => onSignOut('You have signed out.')}>
            Sign out
          </button>
        </nav>
      </header>
      <main>
        <div role="tablist" aria-label="Log type" class="tabs" onKeyDown={tabKeys}>
          {types.map((t) => (
            <button
              type="button"
              role="tab"
              id={`tab-${t}`}
              key={t}
              aria-selected={t === logType}
              aria-controls="entries"
              tabIndex={t === logType ? 0 : -1}
              onClick={() => {
                setLogType(t);
                setSelected(undefined);
              }}
            >
              {t}
            </button>
          ))}
        </div>
        <div class="toolbar">
          <label>
            Time range{' '}
            <select value={range.preset} onChange={(e) => chooseRange((e.currentTarget as HTMLSelectElement).value)}>
              {PRESETS.map((p) => (
                <option value={p.id} key={p.id}>
                  {p.label}
                </option>
              ))}
              <option value="custom">Custom…</option>
            </select>
          </label>
          {range.preset === 'custom' && (
            <form class="custom" onSubmit={applyCustom}>
              <Bound label="From" value={customFrom} set={setCustomFrom} utc={utc} later={fromLater} setLater={setFromLater} />
              <Bound label="To" value={customTo} set={setCustomTo} utc={utc} later={toLater} setLater={setToLater} />
              <button type="submit">Apply</button>
            </form>
          )}
          <label>
            Order{' '}
            <select
              value={newestFirst ? 'newest' : 'oldest'}
              onChange={(e) => {
                const newest = (e.currentTarget as HTMLSelectElement).value === 'newest';
                setSelected(undefined);
                // The tail appends at the end: oldest first only.
                if (newest) setTail(false);
                setNewestFirst(newest);
              }}
            >
              <option value="oldest">Oldest first</option>
              <option value="newest">Newest first</option>
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={utc} onChange={(e) => toggleUtc((e.currentTarget as HTMLInputElement).checked)} /> Times in UTC
          </label>
          <form class="user-filter" onSubmit={applyUser} aria-label="Filter by user">
            <span aria-hidden="true">User</span>
            <select
              aria-label="Match user by"
              value={userField}
              onChange={(e) => setUserField((e.currentTarget as HTMLSelectElement).value as UserFilter['field'])}
            >
              <option value="userEmailAddress">email</option>
              <option value="userId">id</option>
            </select>
            <input
              type="search"
              aria-label="User to show (exact)"
              value={userValue}
              placeholder="exact email or id"
              onInput={(e) => setUserValue((e.currentTarget as HTMLInputElement).value)}
            />
            <button type="submit">Show user</button>
            {user && (
              <button
                type="button"
                onClick={() => {
                  setUserValue('');
                  setUser(undefined);
                }}
              >
                All users
              </button>
            )}
          </form>
          <label>
            Filter loaded entries{' '}
            <input
              type="search"
              value={filter}
              placeholder="text in any field"
              onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={tail}
              disabled={range.preset === 'custom' || newestFirst}
              onChange={(e) => setTail((e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            Live tail
          </label>
          <button type="button" onClick={() => void runExport('ndjson')} disabled={exportBusy}>
            Export NDJSON
          </button>
          <button type="button" onClick={() => void runExport('csv')} disabled={exportBusy}>
            Export CSV
          </button>
          {exportBusy && (
            <button type="button" onClick={() => exportStop.current?.abort()}>
              Cancel export
            </button>
          )}
        </div>
        <IntegrityBadge check={logCheck} onTrust={(key) => runLogCheck(key)} />
        {hours && total !== 0 && (
          <HistogramChart
            hours={hours.list}
            fromMs={hours.fromMs}
            toMs={hours.toMs}
            utc={utc}
            user={user && `${user.field === 'userId' ? 'user id' : 'user'} ${user.value}`}
          />
        )}
        <p class="status" role="status" aria-live="polite">
          {loading && rows.length === 0
            ? 'Loading…'
            : total === undefined
              ? ''
              : `${rows.length} of ${total} entries${user ? ` of ${user.field === 'userId' ? 'user id' : 'user'} ${user.value}` : ''} loaded${needle ? `, ${shown.length} match the filter` : ''}.`}{' '}
          {tailNote} {exporting}
        </p>
        {(error ?? rangeProblem) && (
          <p class="error" role="alert">
            {error ?? rangeProblem}
          </p>
        )}
        <table id="entries" aria-label={`${logType} entries`} aria-busy={loading} aria-rowcount={lines.length + 1}>
          <colgroup>
            <col class="c-time" />
            <col class="c-user" />
            <col />
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col" aria-sort={newestFirst ? 'descending' : 'ascending'}>
                Time ({utc ? 'UTC' : 'local'}){newestFirst ? ', newest first' : ''}
              </th>
              <th scope="col">User</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody onKeyDown={keys} onFocusCapture={noteFocus} ref={tbody}>
            {window_.start > 0 && (
              // biome-ignore lint/a11y/noAriaHiddenOnFocusable: a spacer row holds no control and is never focused; it only keeps the scroll height of rows not drawn
              <tr class="spacer" aria-hidden="true" style={{ height: `${Math.min(window_.start, lines.length) * ROW_PX}px` }}>
                <td colSpan={3} />
              </tr>
            )}
            {lines.slice(window_.start, window_.end).map((line, k) =>
              'row' in line ? (
                <EntryRow
                  key={line.index}
                  row={line.row}
                  index={line.index}
                  rowIndex={window_.start + k + 2}
                  logType={logType}
                  utc={utc}
                  selected={line.index === selected}
                  tabbable={line.index === tabStop}
                  open={open}
                />
              ) : (
                <tr class="marker" key="marker" aria-rowindex={window_.start + k + 2}>
                  <td colSpan={3}>New entries</td>
                </tr>
              ),
            )}
            {window_.end < lines.length && (
              // biome-ignore lint/a11y/noAriaHiddenOnFocusable: a spacer row holds no control and is never focused; it only keeps the scroll height of rows not drawn
              <tr class="spacer" aria-hidden="true" style={{ height: `${(lines.length - window_.end) * ROW_PX}px` }}>
                <td colSpan={3} />
              </tr>
            )}
          </tbody>
        </table>
        {!loading && total === 0 && <p class="empty">No {logType} entries in this range.</p>}
        <div ref={sentinel} class="sentinel">
          {cursor !== undefined && (
            <button type="button" onClick={loadMore} aria-disabled={loading}>
              {loading ? 'Loading…' : 'Load more'}
            </button>
          )}
        </div>
      </main>
      {current && (
        <EntryPanel
          row={current}
          logType={logType}
          utc={utc}
          permalink={`${location.origin}${location.pathname}${entryLink(logType, current.ms, place, utc, user)}`}
          checkInclusion={() => checkEntry(current)}
          onClose={() => {
            const at = selected === undefined ? -1 : lineOf(selected);
            setSelected(undefined);
            if (at >= 0) {
              reveal(at);
              setFocusLine(at);
            }
          }}
        />
      )}
    </div>
  );
}
