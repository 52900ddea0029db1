/** One entry in a side panel: every field, the logRecord with its numbers as stored, copy and permalink. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { USER_FIELDS } from '../logs/entry-fields.ts';
import { prettyJson, type Row } from './page.ts';
import { formatTime } from './time.ts';

export function EntryPanel(props: { row: Row; logType: string; utc: boolean; permalink: string; onClose: () => void }) {
  const { row } = props;
  const close = useRef<HTMLButtonElement>(null);
  const [copied, setCopied] = useState<string | undefined>();
  useEffect(() => {
    close.current?.focus();
    setCopied(undefined);
  }, [row]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(row.raw);
      setCopied('Copied the entry as JSON.');
    } catch {
      setCopied('The browser did not allow copying; select the text instead.');
    }
  };
  return (
    <aside
      class="panel"
      aria-labelledby="entry-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') props.onClose();
      }}
    >
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
      </div>
      <p role="status" class="muted">
        {copied}
      </p>
    </aside>
  );
}
