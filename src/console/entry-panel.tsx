/**
 * One entry in a side panel: every field, the logRecord with its numbers as stored, copy and
 * permalink, and on demand a check that the entry is included in the log's verified checkpoint.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { USER_FIELDS } from '../logs/entry-fields.ts';
import { prettyJson, type Row } from './page.ts';
import { formatTime } from './time.ts';

export function EntryPanel(props: {
  row: Row;
  logType: string;
  utc: boolean;
  permalink: string;
  onClose: () => void;
  /** Checks the entry's inclusion in the verified checkpoint: resolves to what was found, rejects with why not. */
  checkInclusion: () => Promise<string>;
}) {
  const { row } = props;
  const close = useRef<HTMLButtonElement>(null);
  const [copied, setCopied] = useState<string | undefined>();
  const [inclusion, setInclusion] = useState<{ ok: boolean; text: string } | undefined>();
  useEffect(() => {
    close.current?.focus();
    setCopied(undefined);
    setInclusion(undefined);
  }, [row]);
  // Escape closes the entry wherever the focus is: in the panel, or back in the table (which
  // may take it when its rows are drawn again, the panel open). Listened for as the panel is
  // put in the page, not after the next paint: an Escape pressed as soon as it shows counts.
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useLayoutEffect(() => {
    const onEscape = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose.current();
    };
    document.addEventListener('keydown', onEscape);
    return () => document.removeEventListener('keydown', onEscape);
  }, []);
  const check = () => {
    setInclusion({ ok: true, text: 'Checking…' });
    props
      .checkInclusion()
      .then((text) => setInclusion({ ok: true, text }))
      .catch((err: unknown) => setInclusion({ ok: false, text: err instanceof Error ? err.message : String(err) }));
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(row.raw);
      setCopied('Copied the entry as JSON.');
    } catch {
      setCopied('The browser did not allow copying; select the text instead.');
    }
  };
  return (
    <aside class="panel" aria-labelledby="entry-title">
      <header>
        <h2 id="entry-title">{props.logType} entry</h2>
        <button ref={close} type="button" class="ghost" onClick={props.onClose} aria-label="Close entry">
          ✕
        </button>
      </header>
      <dl>
        <dt>eventTime</dt>
        <dd>
          <code>{row.eventTime}</code>
          <br />
          <span class="muted">{formatTime(row.ms, props.utc)}</span>
        </dd>
        {USER_FIELDS.filter((f) => row[f] !== undefined).map((f) => (
          <>
            <dt key={`t-${f}`}>{f}</dt>
            <dd key={`d-${f}`}>
              <code>{row[f]}</code>
            </dd>
          </>
        ))}
      </dl>
      <h3>logRecord</h3>
      <pre class="json" tabIndex={0} aria-label="logRecord as JSON">
        {prettyJson(row.logRecordText)}
      </pre>
      <div class="actions">
        <button type="button" onClick={copy}>
          Copy JSON
        </button>
        <a href={props.permalink} class="button">
          Permalink
        </a>
        <button type="button" onClick={check}>
          Check inclusion
        </button>
      </div>
      <p role="status" class={inclusion && !inclusion.ok ? 'inclusion error' : 'inclusion'}>
        {inclusion && (inclusion.ok ? inclusion.text : `Inclusion check failed: ${inclusion.text}`)}
      </p>
      <p role="status" class="muted">
        {copied}
      </p>
    </aside>
  );
}
