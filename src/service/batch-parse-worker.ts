/**
 * The worker thread behind batch-parse-pool.ts. It parses a JSON ingest batch with the
 * parser the main thread would use (every entry decoded, parsed, validated and rendered), and
 * makes each entry's idempotency key and its wire text's digest (for its leaf) from the text's bytes, then sends
 * the entries back packed in a few arrays, moved rather than copied (logs/packed-entries.ts). A batch that fails is
 * answered with no entries: the main thread then parses it as it always did, and words the
 * error.
 */
import { parentPort } from 'node:worker_threads';
import { ENTRY_KEY_BYTES, EntryKeys } from '../logs/entry.ts';
import { MAX_BATCH_ENTRIES, parseJsonBatch, renderJsonBatchBytes } from '../logs/ingest-parse.ts';
import { LogTypes } from '../logs/log-types.ts';
import { DIGEST_BYTES, movedBuffers, type PackedArrays } from '../logs/packed-entries.ts';
import { wireTextDigest } from '../tlog/entry-leaf.ts';
import type { ParseJob, ParseReply } from './batch-parse-pool.ts';

const typesByList = new Map<string, LogTypes>();

function typesOf(writable: readonly string[]): LogTypes {
  const id = writable.join(',');
  let types = typesByList.get(id);
  if (!types) typesByList.set(id, (types = new LogTypes(writable)));
  return types;
}

function pack(body: Uint8Array, writable: readonly string[]): PackedArrays | undefined {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Entry by entry, as the store would take them: none outlives its turn, so the garbage of
  // 10,000 parsed records dies young instead of being promoted.
  const times = new Float64Array(MAX_BATCH_ENTRIES);
  const keys = Buffer.allocUnsafeSlow(MAX_BATCH_ENTRIES * ENTRY_KEY_BYTES);
  const digests = new Uint8Array(MAX_BATCH_ENTRIES * DIGEST_BYTES);
  const ends = new Uint32Array(MAX_BATCH_ENTRIES);
  // Entries rendered are about as long as their text in the body; the buffer grows only when
  // an entry's exact length says it must.
  let text = Buffer.allocUnsafeSlow(b.length + 1024);
  let at = 0;
  let n = 0;
  let logType = '';
  let keyer: EntryKeys | undefined;
  const types = typesOf(writable);
  // A body of an unusual shape (escaped keys, say) is parsed from its text; its keys are made here all the same.
  for (const e of renderJsonBatchBytes(b, types) ?? parseJsonBatch(b.toString('utf8'), types)) {
    logType = e.logType;
    keyer ??= new EntryKeys(logType);
    times[n] = e.eventTimeMs;
    // A string's UTF-8 takes at most three bytes per UTF-16 unit: measured only when that might not fit.
    if (at + e.body.length * 3 > text.length && at + Buffer.byteLength(e.body) > text.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(text.length * 2, at + Buffer.byteLength(e.body)));
      text.copy(bigger, 0, 0, at);
      text = bigger;
    }
    const start = at;
    at += text.write(e.body, at, 'utf8');
    // Key and digest from the text's bytes, as written: the same as from the string, without encoding it twice more.
    const bytes = text.subarray(start, at);
    keyer.write(bytes, keys, n * ENTRY_KEY_BYTES);
    digests.set(wireTextDigest(bytes), n * DIGEST_BYTES);
    ends[n++] = at;
  }
  if (n === 0) return undefined;
  return {
    logType,
    times: times.subarray(0, n),
    keys: new Uint8Array(keys.buffer, 0, n * ENTRY_KEY_BYTES),
    digests: digests.subarray(0, n * DIGEST_BYTES),
    text: new Uint8Array(text.buffer, 0, at),
    ends: ends.subarray(0, n),
  };
}

parentPort!.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    reply = { id: job.id, batch: pack(job.body, job.writable) };
  } catch {
    // Whatever went wrong, the main thread's parse decides.
    reply = { id: job.id, batch: undefined };
  }
  parentPort!.postMessage(reply, reply.batch ? movedBuffers(reply.batch) : []);
});
