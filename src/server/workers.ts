/**
 * `serve --workers N`: N server processes on one port (node:cluster). The primary prepares
 * the store once (migrations, first tenant and key, demo data), forks the workers, restarts a
 * worker that dies unexpectedly, and on SIGTERM/SIGINT asks every worker to finish its
 * in-flight requests and stop. The banner is printed once every worker listens, before their
 * log lines. Workers are stateless: cursors and tokens are signed with the key kept in the
 * store, so any worker continues what another began.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.ts';
import { answerClusterMetrics } from './cluster-metrics.ts';
import { type Listening, type Prepared, prepareStore, startServer } from './start.ts';
import { checkBeforeStart } from './start-checks.ts';
import { onStopSignal } from './stop-signals.ts';

interface ListeningMessage {
  type: 'logwarden:listening';
  url: string;
}

/** The primary's answer: the banner is out, the worker may start writing its log. */
interface AnnouncedMessage {
  type: 'logwarden:announced';
}

function isListening(m: unknown): m is ListeningMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'logwarden:listening';
}

function isAnnounced(m: unknown): m is AnnouncedMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'logwarden:announced';
}

/** How long a worker holds its log back waiting for the primary's banner. */
const ANNOUNCE_WAIT_MS = 15_000;

const CRASH_WINDOW_MS = 30_000;
const MAX_CRASHES = 5;

/**
 * The primary's part of a start: the checks, then the store prepared and closed again. It runs
 * none of the store's background work: the workers do, and on PostgreSQL the sealer's first
 * round (which plans a search of every month's partition) would begin at once and hold the
 * close, and with it every worker's start, until it ended.
 */
export async function preparePrimary(config: Config, options: { demo?: boolean; gongRetention?: boolean }): Promise<Prepared> {
  await checkBeforeStart(config);
  const prepared = await prepareStore(config, { ...options, background: false });
  await prepared.store.close();
  // Said once here, before the workers start: opening a log may already record what it notes.
  for (const note of prepared.logNotes ?? []) process.stderr.write(`logwarden: warning: ${note}\n`);
  return prepared;
}

/** Runs the primary; resolves with the exit code once every worker has stopped. */
export async function runPrimary(
  config: Config,
  workers: number,
  options: { demo?: boolean; gongRetention?: boolean; onListening(listening: Listening): void },
): Promise<number> {
  const prepared = await preparePrimary(config, options);
  answerClusterMetrics();

  return new Promise<number>((resolve) => {
    let stopping = false;
    let announced = false;
    let exitCode = 0;
    const crashes: number[] = [];
    const live = new Set<Worker>();
    // Workers that listen before the last of the first `workers` does: the banner waits for
    // all of them, and so do their log lines.
    const waiting: Worker[] = [];
    const announcedTo = (w: Worker) => {
      if (w.isConnected()) w.send({ type: 'logwarden:announced' } satisfies AnnouncedMessage);
    };

    // The workers accept connections themselves, from the one listening socket. With the primary
    // handing them out in turn (node:cluster's default here), a connection handed to a worker
    // that dies before taking it is neither closed nor passed on: its client waits for ever.
    // Accepted by a worker that then dies, a connection is reset, and the client retries.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const fork = () => {
      const w = cluster.fork();
      live.add(w);
      w.on('message', (m: unknown) => {
        if (!isListening(m)) return;
        if (announced) return announcedTo(w);
        waiting.push(w);
        if (waiting.length < workers) return;
        announced = true;
        options.onListening({ url: m.url, bootstrap: prepared.bootstrap, tenantId: prepared.tenantId, gongRetention: prepared.gongRetention });
        for (const each of waiting.splice(0)) announcedTo(each);
      });
      w.on('exit', (code, signal) => {
        live.delete(w);
        if (!stopping && !announced) {
          // A worker that fails before any listens (port taken, store unreadable) has said why
          // on stderr; its siblings would fail the same way.
          exitCode = 1;
          stop();
        } else if (!stopping) {
          const now = Date.now();
          crashes.push(now);
          while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
          if (crashes.length > MAX_CRASHES) {
            process.stderr.write(`logwarden: workers keep dying (last: ${signal ?? `exit code ${code}`}); stopping\n`);
            exitCode = 1;
            stop();
          } else {
            process.stderr.write(`logwarden: worker ${w.process.pid} died (${signal ?? `exit code ${code}`}); starting another\n`);
            fork();
          }
        }
        if (stopping && live.size === 0) resolve(exitCode);
      });
    };

    const stop = () => {
      if (stopping) return;
      stopping = true;
      for (const w of live) w.process.kill('SIGTERM');
      if (live.size === 0) resolve(exitCode);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`logwarden: ${signal} received, workers are finishing in-flight requests…\n`);
      stop();
    };
    onStopSignal(onSignal);
    for (let i = 0; i < workers; i++) fork();
  });
}

/** Runs one worker: serves until SIGTERM/SIGINT, then drains and exits. */
export async function runWorker(config: Config): Promise<void> {
  const server = await startServer(config, {
    prepare: false,
    clusterMetrics: true,
    // Log lines wait until the primary has printed the banner (15 s at most).
    onListening: ({ url }) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          process.off('message', onMessage);
          resolve();
        };
        const onMessage = (m: unknown) => {
          if (isAnnounced(m)) done();
        };
        const timer = setTimeout(done, ANNOUNCE_WAIT_MS);
        process.on('message', onMessage);
        if (!process.send?.({ type: 'logwarden:listening', url } satisfies ListeningMessage)) done();
      }),
  }).catch((err: unknown) => {
    // The channel to the primary would keep this process alive after the error is reported.
    cluster.worker?.disconnect();
    throw err;
  });
  await new Promise<void>((resolve) => {
    onStopSignal(() => {
      server.stop().then(resolve, () => resolve());
    });
  });
  // The channel to the primary would keep this process alive.
  cluster.worker?.disconnect();
}

export const isWorker = (): boolean => cluster.isWorker;
