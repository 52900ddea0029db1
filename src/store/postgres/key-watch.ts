/**
 * Access keys created or revoked by any process, heard as they commit: each change sends a
 * notification on one channel (`pg_notify` in the same transaction, delivered at commit), and
 * a process that keeps keys in memory listens on its own connection. While that connection is
 * down, changes may be missed: the watchers are told, and keep nothing until it is back.
 */
import pg from 'pg';
import type { AccessKeyWatcher } from '../store.ts';
import { destroyConnection, KEEPALIVE_DELAY_MS, settlesBy } from './pool.ts';

export const ACCESS_KEY_CHANNEL = 'logwarden_access_keys';
const RECONNECT_MS = 1000;

export class KeyWatch {
  private readonly watchers: AccessKeyWatcher[] = [];
  private client: pg.Client | null = null;
  private starting = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly url: string) {}

  /** Adds a watcher, told at once whether changes are heard; the first starts listening. */
  add(watcher: AccessKeyWatcher): void {
    this.watchers.push(watcher);
    watcher.live(this.client !== null);
    if (this.client === null && !this.starting) void this.listen();
  }

  private tell(live: boolean): void {
    for (const w of this.watchers) w.live(live);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    this.starting = true;
    // Keepalive: a network dropped silently ends the connection (and it is made again) instead of
    // leaving the process listening on a connection that hears nothing.
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'logwarden',
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    });
    // A dropped connection ends it ('end' below); the error itself needs no more.
    client.on('error', () => {});
    client.on('notification', (n) => {
      if (n.channel !== ACCESS_KEY_CHANNEL || !n.payload) return;
      for (const w of this.watchers) w.changed(n.payload);
    });
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = null;
      this.tell(false);
      this.later();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${ACCESS_KEY_CHANNEL}`);
    } catch {
      this.starting = false;
      await client.end().catch(() => {});
      this.later();
      return;
    }
    this.starting = false;
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.tell(true);
  }

  private later(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => void this.listen(), RECONNECT_MS);
  }

  /** The backend pid of the listening connection, while there is one. */
  get backendPid(): number | undefined {
    const pid = (this.client as unknown as { processID?: number | null } | null)?.processID;
    return typeof pid === 'number' ? pid : undefined;
  }

  /** Stops listening; a connection that has not ended by `deadline` (a `performance.now()` time: a server not answering) is closed at once. */
  async stop(deadline = performance.now() + 1_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    if (client && !(await settlesBy(client.end(), deadline))) destroyConnection(client);
  }
}

/** Sends the change of one access key to every listening process, when the transaction commits. */
export async function notifyKeyChange(client: pg.PoolClient, accessKey: string): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [ACCESS_KEY_CHANNEL, accessKey]);
}
