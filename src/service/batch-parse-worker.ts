/**
 * The worker thread behind batch-parse-pool.ts. It parses a JSON ingest batch with the
 * parser the main thread would use (`parseJsonBatchBytes`: every entry decoded, parsed,
 * validated, rendered and keyed) and digests each entry's wire text for its leaf, then sends
 * the entries back packed in a few arrays of shared memory (logs/packed-entries.ts). A batch that fails is
 * answered with no entries: the main thread then parses it as it always did, and words the
 * error.
 */
import { parentPort } from 'node:worker_threads';
import { ENTRY_KEY_BYTES } from '../logs/entry.ts';
import { MAX_BATCH_ENTRIES, parseJsonBatchBytes } from '../logs/ingest-parse.ts';
import { LogTypes } from '../logs/log-types.ts';
import { DIGEST_BYTES, type PackedArrays } from '../logs/packed-entries.ts';
import { wireTextDigest } from '../tlog/entry-leaf.ts';
import type { ParseJob, ParseReply } from './batch-parse-pool.ts';

const typesByList = new Map<string, LogTypes>();

function typesOf(writable: readonly string[]): LogTypes {
  const id = writable.join(',');
  let types = typesByList.get(id);
  if (!types) typesByList.set(id, (types = new LogTypes(writable)));
  return types;
}

/** `length` bytes of shared memory: a batch passed on to the store's writer thread is not copied. */
function shared(length: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(length));
}

function pack(body: Uint8Array, writable: readonly string[]): PackedArrays | undefined {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Entry by entry, as the store would take them: none outlives its turn, so the garbage of
  // 10,000 parsed records dies young instead of being promoted.
  const times = new Float64Array(new SharedArrayBuffer(MAX_BATCH_ENTRIES * Float64Array.BYTES_PER_ELEMENT));
  const keys = shared(MAX_BATCH_ENTRIES * ENTRY_KEY_BYTES);
  const digests = shared(MAX_BATCH_ENTRIES * DIGEST_BYTES);
  const ends = new Uint32Array(new SharedArrayBuffer(MAX_BATCH_ENTRIES * Uint32Array.BYTES_PER_ELEMENT));
  // Entries rendered are about as long as their text in the body; the buffer grows only when
  // an entry's exact length says it must.
  let text = shared(b.length + 1024);
  let at = 0;
  let n = 0;
  let logType = '';
  for (const e of parseJsonBatchBytes(b, typesOf(writable))) {
    logType = e.logType;
    times[n] = e.eventTimeMs;
    keys.set(e.key.subarray(0, ENTRY_KEY_BYTES), n * ENTRY_KEY_BYTES);
    digests.set(wireTextDigest(e.body), n * DIGEST_BYTES);
    // A string's UTF-8 takes at most three bytes per UTF-16 unit: measured only when that might not fit.
    if (at + e.body.length * 3 > text.length && at + Buffer.byteLength(e.body) > text.length) {
      const bigger = shared(Math.max(text.length * 2, at + Buffer.byteLength(e.body)));
      text.copy(bigger, 0, 0, at);
      text = bigger;
    }
    at += text.write(e.body, at, 'utf8');
    ends[n++] = at;
  }
  if (n === 0) return undefined;
  return {
    logType,
    times: times.subarray(0, n),
    keys: keys.subarray(0, n * ENTRY_KEY_BYTES),
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
  parentPort!.postMessage(reply);
});
