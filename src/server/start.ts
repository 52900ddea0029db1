/**
 * Starting a server process: open (and migrate) the store, create the first tenant and key on
 * an empty store, optionally load demo data, build the app and listen. `stop()` lets
 * in-flight requests finish, then closes the store.
 */
import type { FastifyInstance } from 'fastify';
import { SERVER_ACTOR } from '../admin/actor.ts';
import type { KeptRetention } from '../admin/gong-retention.ts';
import { createFirstKeyAct } from '../admin/keys.ts';
import { completePurgeTrail, recordPurgeRun } from '../admin/purge-trail.ts';
import { createTenantAct } from '../admin/tenants.ts';
import type { Config } from '../config.ts';
import { newTenantId } from '../logs/access-keys.ts';
import { GONG_LOG_TYPES } from '../logs/log-types.ts';
import type { IssuedKey } from '../service/access-keys.ts';
import { BackgroundPurge } from '../store/background-purge.ts';
import { type OpenStoreOptions, openStore } from '../store/open.ts';
import { effectiveRetention } from '../store/retention-policy.ts';
import type { PurgeReceipt, Store } from '../store/store.ts';
import type { LimiterStore } from './limiter/limiter.ts';
import { createHeldLogger, resolveLogFormat } from './logger.ts';

export interface Bootstrap {
  readonly tenantId: string;
  readonly key: IssuedKey;
  /** True when the key came from LOGWARDEN_BOOTSTRAP_ACCESS_KEY / _SECRET. */
  readonly preset: boolean;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Set when this start created the first tenant and key. */
  readonly bootstrap: Bootstrap | undefined;
  stop(): Promise<void>;
}

/** The stored value naming the first tenant's id before it is created (see firstTenant). */
export const FIRST_TENANT_ID = 'first-tenant-id';

/**
 * The tenant that a first start gives a key: on an empty store a new `default` tenant; on a
 * store whose only tenant is the one a first start made (its id recorded before it was made)
 * and never had a key, it (a first start stopped before it made its key, e.g. while demo data
 * loaded, so no secret was ever shown). Never a tenant an operator made, whatever its name: the
 * server would give it a key nobody asked for, or `--demo` would fill its log. Undefined otherwise.
 */
async function firstTenant(store: Store, clock: () => number): Promise<string | undefined> {
  const tenants = await store.listTenants();
  if (tenants.length === 0) {
    // Starts racing on one empty store (two servers started at once) agree on the first tenant's
    // id, the first one recorded: they make one tenant between them, and the start whose
    // creation goes through makes its key.
    const id = await store.getOrCreateSecret(FIRST_TENANT_ID, newTenantId);
    try {
      return (await createTenantAct(store, 'default', SERVER_ACTOR, clock, id)).id;
    } catch (err) {
      if ((await store.getTenant(id)) !== undefined) return undefined;
      throw err;
    }
  }
  const only = tenants.length === 1 ? tenants[0]! : undefined;
  if (only?.name !== 'default') return undefined;
  // Recorded empty on a store whose tenants no first start made (none is recorded otherwise).
  const made = await store.getOrCreateSecret(FIRST_TENANT_ID, () => '');
  if (made !== only.id || (await store.listAccessKeys(only.id)).length > 0) return undefined;
  return only.id;
}

/**
 * The first tenant's read+write key, so a newcomer can query at once (in its admin trail).
 * Undefined when the tenant has a key by now: another start at the same time made it.
 */
async function firstKey(store: Store, tenantId: string, config: Config, clock: () => number): Promise<Bootstrap | undefined> {
  const preset =
    config.bootstrapAccessKey && config.bootstrapSecret ? { accessKey: config.bootstrapAccessKey, secret: config.bootstrapSecret } : undefined;
  const key = await createFirstKeyAct(store, tenantId, ['api:logs:read', 'api:logs:write'], SERVER_ACTOR, clock, preset);
  return key && { tenantId, key, preset: preset !== undefined };
}

export interface Prepared {
  readonly store: Store;
  /** Set when this start created the first tenant and key. */
  readonly bootstrap: Bootstrap | undefined;
  /** The first tenant (the one bootstrap created, on a new store); with `demo`, the demo tenant. */
  readonly tenantId: string | undefined;
  /** Set when the demo tenant was given Gong's retention (`--gong-retention`). */
  readonly gongRetention?: GongRetentionApplied;
  /** What the check of the logs found that does not stop the server (`Store.checkLogs`), for its log. */
  readonly logNotes?: readonly string[];
}

/** `--gong-retention` at this start: the types that kept an operator's own setting instead. */
export interface GongRetentionApplied {
  readonly kept: readonly KeptRetention[];
}

/** What a banner needs once the server listens. */
export interface Listening {
  readonly url: string;
  readonly bootstrap: Bootstrap | undefined;
  readonly tenantId: string | undefined;
  /** The demo tenant keeps Gong's retention (`--gong-retention`). */
  readonly gongRetention?: GongRetentionApplied;
}

/**
 * Opens the store and readies it for serving: migrations run on open; on an empty store the
 * first tenant and key are created; `demo` loads the synthetic data set into the store's demo
 * tenant (the first start's tenant, marked as such), and refuses any other store (DemoRefusedError,
 * nothing written).
 */
export async function prepareStore(
  config: Config,
  options: { demo?: boolean; gongRetention?: boolean; now?: () => number } & OpenStoreOptions = {},
): Promise<Prepared> {
  const store = await openStore(config, options);
  const clock = options.now ?? Date.now;
  try {
    // A signing secret other than the store's, or a log put back to an earlier state than it
    // signed, fails here, before the demo data or the first tenant is signed with it.
    const logNotes = (await store.checkLogs?.()) ?? [];
    const keyFor = await firstTenant(store, clock);
    let tenantId = keyFor ?? (await store.listTenants())[0]?.id;
    let gongRetention: GongRetentionApplied | undefined;
    if (options.demo) {
      // Only into a demo tenant: what is loaded can never be taken out of a tenant's log.
      const { demoTenant } = await import('../demo/demo-tenant.ts');
      tenantId = await demoTenant(store, keyFor, storeName(config), clock);
      const { loadDemoData } = await import('../demo/demo-data.ts');
      if (options.gongRetention) {
        const { applyGongRetention } = await import('../admin/gong-retention.ts');
        gongRetention = { kept: await applyGongRetention(store, tenantId, clock) };
      }
      const retentionDays = await demoRetention(store, tenantId, config);
      const r = await loadDemoData(store, tenantId, { now: clock(), retentionDays });
      process.stderr.write(
        `logwarden: demo data for tenant ${tenantId}: ${r.accepted} ${r.accepted === 1 ? 'entry' : 'entries'} stored (${r.duplicates} already there)\n`,
      );
    }
    // The key last: a start stopped before this point made no secret that was never shown, and
    // the next start makes the key.
    const boot = keyFor === undefined ? undefined : await firstKey(store, keyFor, config, clock);
    return { store, bootstrap: boot, tenantId, gongRetention, logNotes };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The store in words, for a message (never a database URL: it may hold a password). */
const storeName = (config: Config): string => (config.databaseUrl ? 'the PostgreSQL store' : `the store in ${config.dataDir}`);

/**
 * The days each demo type is kept for the tenant (types kept forever left out): the demo loads
 * no entry older than that, so a restart never brings back what retention deleted.
 */
async function demoRetention(store: Store, tenantId: string, config: Config): Promise<Record<string, number>> {
  const settings = await store.getRetention(tenantId);
  const days: Record<string, number> = {};
  for (const logType of GONG_LOG_TYPES) {
    const d = effectiveRetention(settings, logType, config.retentionDays, GONG_LOG_TYPES);
    if (d !== null) days[logType] = d;
  }
  return days;
}

export interface StartOptions {
  demo?: boolean;
  /** With `demo`: the demo tenant keeps Gong's published retention (AccessLog 14 days). */
  gongRetention?: boolean;
  /** False in worker processes: the primary prepared the store before forking them. */
  prepare?: boolean;
  /** In worker processes: /metrics answers for every worker, through the primary. */
  clusterMetrics?: boolean;
  /** Called once listening, before the first log line is written (awaited): the place for a banner. */
  onListening?(listening: Listening): void | Promise<void>;
  /**
   * The server's clock (ms; default Date.now): the first start's admin acts, the background
   * purge's retention cutoffs and the times of its admin-trail entries.
   */
  now?: () => number;
  /** Called after each background purge step that deleted entries (awaited), with the store it ran on. */
  onPurged?(store: Store, tenantId: string, receipt: PurgeReceipt): void | Promise<void>;
}

/** Starts a server; resolves once it listens. `stop()` drains in-flight requests, then closes the store. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const clock = options.now ?? Date.now;
  const { logger, release } = createHeldLogger(config.logLevel, resolveLogFormat(config.logFormat, process.stdout.isTTY === true));
  // The store's background failures (sealing) go to the server's log: the message names the
  // segment or tenant number and what failed, never entry text. Each distinct failure is an
  // error once; its repeats at every retry are debug lines.
  const opening: OpenStoreOptions = {
    onBackgroundError: (problem, repeat) =>
      repeat
        ? logger.debug({ problem: problem.message, kind: problem.name }, 'store background work failed again; retrying')
        : logger.error({ problem: problem.message, kind: problem.name }, 'store background work failed; retrying'),
  };
  const prepared: Prepared =
    options.prepare === false
      ? { store: await openStore(config, opening), bootstrap: undefined, tenantId: undefined }
      : await prepareStore(config, { ...options, ...opening });
  const { store, bootstrap: boot, tenantId, gongRetention } = prepared;
  let app: FastifyInstance | undefined;
  let limiter: LimiterStore | undefined;
  try {
    // A signing secret changed under the same origin, or a log put back to an earlier state than
    // it signed, fails the start here, not every write and log read with a 500 (prepareStore
    // checked already; workers, which do not prepare, check here).
    const logNotes = options.prepare === false ? ((await store.checkLogs?.()) ?? []) : (prepared.logNotes ?? []);
    for (const note of logNotes) logger.warn(note);
    if (config.redisUrl) {
      const { RedisLimiter } = await import('./limiter/redis-limiter.ts');
      limiter = await RedisLimiter.connect({ url: config.redisUrl });
    }
    // Loaded here, not with this module: the primary of `serve --workers` prepares the store
    // through this module and forks the workers only after, and never serves.
    const { buildApp } = await import('./app.ts');
    app = await buildApp({ config, store, logger, ...(limiter && { limiter }), ...(options.clusterMetrics && { clusterMetrics: true }) });
    const where = `${store.kind} store, rate limits counted in ${limiter ? 'redis' : 'memory'}`;
    await app.listen({ port: config.port, host: config.host, listenTextResolver: (address) => `listening on ${address} (${where})` });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    await options.onListening?.({ url, bootstrap: boot, tenantId, gongRetention });
    release();
    // Retention: expired entries are deleted in the background (one process of all those
    // sharing the store at a time), one line per step, no entry text. Each step that deleted
    // entries is written to the tenant's admin trail, then told to `onPurged`.
    const onPurged = async (tenantId: string, receipt: PurgeReceipt): Promise<void> => {
      await recordPurgeRun(store, tenantId, receipt, clock);
      await options.onPurged?.(store, tenantId, receipt);
    };
    // Set once the server is asked to stop.
    let stopping: Promise<void> | undefined;
    const purge = new BackgroundPurge({
      store,
      now: clock,
      serverDays: config.retentionDays,
      intervalMs: config.purgeIntervalSeconds * 1000,
      log: (line) => logger.info(line, 'retention purge: entries deleted'),
      logPartition: (line) =>
        line.outcome === 'dropped'
          ? logger.info(line, 'retention purge: expired month dropped whole')
          : logger.warn(line, 'retention purge: expired month left to steps'),
      onHeldBack: ({ clockMs, latestMs, asOfMs }, held) => {
        const line = { clock: new Date(clockMs).toISOString(), latestEntry: latestMs === null ? null : new Date(latestMs).toISOString() };
        if (!held) logger.info(line, "retention purge: no longer held back from the server's clock");
        else if (asOfMs === null)
          logger.warn(line, 'retention purge: nothing deleted while the store holds no entry but admin-trail ones to check the clock by');
        else
          logger.warn(
            { ...line, asOf: new Date(asOfMs).toISOString() },
            "retention purge: the server's clock is more than a day ahead of the latest entry stored; retention is measured as of a day after it",
          );
      },
      onError: (err) => {
        // A step the stop ended (the store's connections closed under it) is not retried.
        if (stopping) return;
        logger.error({ problem: err instanceof Error ? err.message : String(err) }, 'retention purge failed; retrying at the next interval');
      },
      onPurged,
      // Receipts whose trail entry a purge that ended (or failed) never wrote get it first.
      beforeCycle: async () => {
        const written = await completePurgeTrail(store, clock);
        if (written > 0)
          logger.warn({ written }, 'retention purge: admin trail entries of earlier purges written (a purge ended before writing them)');
      },
    });
    purge.start();
    const running = app;
    return {
      app: running,
      url,
      bootstrap: boot,
      stop() {
        stopping ??= (async () => {
          const drainMs = config.drainTimeoutMs;
          let waitEnded = () => {};
          const waited = new Promise<void>((resolve) => {
            waitEnded = resolve;
          });
          let purgeStopped = false;
          const purgeStop = purge.stop().then(() => {
            purgeStopped = true;
          });
          const deadline = setTimeout(() => {
            if (purgeStopped)
              logger.warn(
                { drainMs },
                "requests still in flight when the stop's wait ended: their connections are closed, nothing they carried was acknowledged",
              );
            else
              logger.warn(
                { drainMs },
                "a retention purge step still under way when the stop's wait ended: it is rolled back as the store closes; connections still open are closed, nothing a request still in flight carried was acknowledged",
              );
            running.server.closeAllConnections();
            waitEnded();
          }, drainMs);
          try {
            // A purge step under way is waited for as long as requests are; closing the store
            // then ends one still waiting on a server that does not answer (rolled back).
            await Promise.race([purgeStop, waited]);
            await running.close();
          } finally {
            clearTimeout(deadline);
            await limiter?.close();
            await store.close();
            logger.flush();
          }
        })();
        return stopping;
      },
    };
  } catch (err) {
    release();
    await app?.close().catch(() => {});
    await limiter?.close().catch(() => {});
    await store.close();
    throw err;
  }
}
