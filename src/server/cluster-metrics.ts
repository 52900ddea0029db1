/**
 * `serve --workers N`: one `/metrics` for the whole server. Each worker counts in its own
 * registry, and a scrape reaches whichever worker accepted its connection; so the worker asks
 * the primary, which gathers every worker's metrics (prom-client's AggregatorRegistry: counters
 * and histograms summed) and answers. Scrapes answered by one worker alone would read a
 * different counter each time, and Prometheus would see resets.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

const ASK = 'logwarden:metrics?';
const ANSWER = 'logwarden:metrics';
/** Longer than prom-client's own wait for the workers (5 s). */
const WAIT_MS = 10_000;

interface Ask {
  readonly type: typeof ASK;
  readonly id: string;
}

interface Answer {
  readonly type: typeof ANSWER;
  readonly id: string;
  readonly text?: string;
  readonly error?: string;
}

const typed = (m: unknown, type: string): m is { type: string; id: string } =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type && typeof (m as { id?: unknown }).id === 'string';

let answering = false;

/** In the primary: answers the workers' requests for the metrics of them all. */
export function answerClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: unknown) => {
    if (!typed(m, ASK)) return;
    void aggregator
      .clusterMetrics()
      .then(
        (text): Omit<Answer, 'type' | 'id'> => ({ text }),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      )
      .then((answer) => {
        if (worker.isConnected()) worker.send({ type: ANSWER, id: m.id, ...answer } satisfies Answer);
      });
  });
}

/**
 * In a worker: a reader of the metrics of every worker, this one's `registry` among them (the
 * primary's requests for it are answered from now on).
 */
export function clusterMetricsReader(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  if (!answering) {
    // Constructing one installs prom-client's answer to the primary's requests.
    new AggregatorRegistry();
    answering = true;
  }
  const pending = new Map<string, { resolve(text: string): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
  process.on('message', (m: unknown) => {
    if (!typed(m, ANSWER)) return;
    const waiting = pending.get(m.id);
    if (!waiting) return;
    pending.delete(m.id);
    clearTimeout(waiting.timer);
    const answer = m as Answer;
    if (answer.text !== undefined) waiting.resolve(answer.text);
    else waiting.reject(new Error(`the workers' metrics: ${answer.error ?? 'no answer'}`));
  });
  const ask = () =>
    new Promise<string>((resolve, reject) => {
      const fail = (why: string) => {
        pending.delete(id);
        clearTimeout(timer);
        reject(new Error(`the workers' metrics: ${why}`));
      };
      const id = randomUUID();
      const timer = setTimeout(() => fail('the primary did not answer'), WAIT_MS);
      timer.unref();
      pending.set(id, { resolve, reject, timer });
      if (!process.send || !process.connected) return fail('no channel to the primary');
      // send() returning false means only that messages are queued (backpressure): they are still sent.
      process.send({ type: ASK, id } satisfies Ask, undefined, undefined, (err) => {
        if (err) fail(`no channel to the primary (${err.message})`);
      });
    });
  // Scrapes that arrive while one is being answered share its answer: one round over the workers.
  let asking: Promise<string> | undefined;
  return () => {
    asking ??= ask().finally(() => {
      asking = undefined;
    });
    return asking;
  };
}
