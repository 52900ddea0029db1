/**
 * The thread behind append-thread.ts: its own connection to the store's database, storing the
 * batches it is sent one after another, each in its own transaction, and answering each with
 * the result or the error. It runs no background work (the calling thread's store does).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PackedEntries } from '../../logs/packed-entries.ts';
import type { AppendJob, AppendReply, AppendThreadOptions } from './append-thread.ts';
import { threadError } from './append-thread.ts';
import { openSqliteStoreThread } from './index.ts';

const port = parentPort!;
const store = openSqliteStoreThread(workerData as AppendThreadOptions, (problem) =>
  port.postMessage({ id: 0, background: threadError(problem) } satisfies AppendReply),
);

port.postMessage({ ready: true } satisfies AppendReply);

port.on('message', (job: AppendJob | { close: true }) => {
  if ('close' in job) {
    void store.close().then(() => port.close());
    return;
  }
  let reply: AppendReply;
  try {
    reply = { id: job.id, result: store.appendHere(job.tenantId, new PackedEntries(job.entries), job.storedAt) };
  } catch (err) {
    reply = { id: job.id, error: threadError(err) };
  }
  port.postMessage(reply);
});
