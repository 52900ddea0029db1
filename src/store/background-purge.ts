/**
 * The server's background purge (issue 12): every interval, for each tenant and log type with
 * a finite effective retention (retention-policy.ts), deletes the entries older than it in
 * bounded steps (Store.purge: one transaction and one deletion receipt each), pausing between
 * steps as long as a step took, so ingest and reads keep at least half the store's time.
 * Retention is measured at the server's clock held back to a day after the latest entry stored
 * (purge-clock.ts), so a clock stepped ahead deletes nothing early.
 *
 * One process purges at a time: each cycle runs only while this purger holds the store's
 * purge lease (renewed before its steps, so it never runs out under one), so `serve --workers
 * N` and several servers sharing one PostgreSQL database purge once. Stopped by `stop()`,
 * which waits for the step under way.
 *
 * Tenants are purged apart: a failure of one tenant's log type (a damaged segment of its own,
 * say) does not keep any other tenant, nor the tenant's other types, from being purged; the
 * cycle goes on and then fails with every such failure named (PurgeFailedError). Only the store
 * itself failing (unreachable, closed) ends a cycle at once. A tenant for which what must come
 * before its next purge failed (its admin trail entries of earlier receipts: beforeCycle, or
 * onPurged of a receipt of this cycle) is left out of the rest of the cycle, month drops
 * included, so that its trail stays in the order of its receipts.
 */
import { randomBytes } from 'node:crypto';
import { ADMIN_LOG_TYPE } from '../logs/log-types.ts';
import { heldBack, type PurgeClock, purgeClock } from './purge-clock.ts';
import { giveWay } from './purge-step.ts';
import { effectiveRetention, retentionCutoff } from './retention-policy.ts';
import type { PartitionOutcome, PurgeReceipt, RetentionDays, RetentionSettings, Store } from './store.ts';

/** Entries one step deletes at most (each step is one transaction and one receipt). */
export const PURGE_STEP_ENTRIES = 2000;

export interface BackgroundPurgeOptions {
  readonly store: Store;
  /** The server default (`LOGWARDEN_RETENTION_DAYS`); null: forever. */
  readonly serverDays: RetentionDays;
  /** Pause between cycles. */
  readonly intervalMs: number;
  /** How long the purge lease lasts unless renewed (default: a minute, or two intervals if longer). */
  readonly leaseMs?: number;
  readonly stepEntries?: number;
  /** The clock (ms) retention is measured by, held back to the latest entry stored plus a day (purge-clock.ts). */
  readonly now?: () => number;
  /**
   * Told (`held` true) when a cycle's time is first held back from the clock (the clock more
   * than a day ahead of the latest entry stored, or no entry to measure by) while some type of
   * some tenant has a finite retention, and (`held` false) once that no longer is so.
   */
  readonly onHeldBack?: (clock: PurgeClock, held: boolean) => void;
  /**
   * Called at the start of each cycle this process runs (holding the lease), and again after a
   * failed drop of expired partitions (which may have made receipts it never returned, so never
   * told to `onPurged`), before any tenant's steps; awaited. When it fails with
   * PurgeFailedError, the tenants it names are left out of the rest of the cycle (the others are
   * purged) and the cycle fails with them at its end. A tenant left out loses no entry in the
   * cycle, by steps or by a partition dropped.
   */
  readonly beforeCycle?: () => Promise<unknown>;
  /**
   * Called after each step that deleted entries (the admin trail records it); awaited. When it
   * fails, the tenant is left out of the rest of the cycle and is told of none of its later
   * receipts in it: what it records of them would come before what it failed to record (the
   * server's beforeCycle records them all, in order, at the next cycle).
   */
  readonly onPurged?: (tenantId: string, receipt: PurgeReceipt) => void | Promise<void>;
  /** One line per step that deleted entries: who and how many, never entry text. */
  readonly log?: (line: { tenantId: string; logType: string; count: number; from: string; to: string; receiptLeaf: number | null }) => void;
  /**
   * One line per time partition (PostgreSQL's months) wholly expired: dropped whole, or left
   * to the steps and why (changed while it was read, or its locks not granted in time).
   */
  readonly logPartition?: (line: { partition: string; outcome: PartitionOutcome }) => void;
  /** A failed cycle (retried at the next one). */
  readonly onError?: (err: unknown) => void;
}

/** What failed in a cycle: one tenant's log type, one tenant (its types unread), or the partitions (no tenant). */
export interface PurgeFailure {
  readonly tenantId?: string;
  readonly logType?: string;
  readonly err: unknown;
}

/** Failures named in a PurgeFailedError's message at most (all are in `failures`). */
const FAILURES_NAMED = 5;

/** A cycle that purged all it could, but failed for some tenants' log types (or whole partitions). */
export class PurgeFailedError extends Error {
  constructor(readonly failures: readonly PurgeFailure[]) {
    const named = failures.slice(0, FAILURES_NAMED).map((f) => {
      const where = f.tenantId === undefined ? 'expired partitions' : `tenant ${f.tenantId}${f.logType === undefined ? '' : ` ${f.logType}`}`;
      return `${where}: ${f.err instanceof Error ? f.err.message : String(f.err)}`;
    });
    const more = failures.length > FAILURES_NAMED ? `; and ${failures.length - FAILURES_NAMED} more` : '';
    super(`retention purge failed for ${named.join('; ')}${more} (everything else was purged)`);
    this.name = 'PurgeFailedError';
  }
}

export class BackgroundPurge {
  /** This purger's name in the store's lease. */
  readonly holder = `purge-${process.pid}-${randomBytes(6).toString('hex')}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  private wasHeldBack = false;
  private readonly stepEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: BackgroundPurgeOptions) {
    this.stepEntries = options.stepEntries ?? PURGE_STEP_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cycle()
        .catch((err: unknown) => this.options.onError?.(err))
        .finally(() => this.schedule(this.options.intervalMs));
    }, ms);
    this.timer.unref();
  }

  /** The lease lasts long enough for a slow step and frees itself soon after a crash. */
  private get leaseMs(): number {
    return this.options.leaseMs ?? Math.max(60_000, 2 * this.options.intervalMs);
  }

  /** When (performance.now()) this process last took or renewed the lease. */
  private leaseAt = 0;

  /** Takes or renews the lease; false when another process holds it. */
  private async takeLease(): Promise<boolean> {
    if (!(await this.options.store.takePurgeLease(this.holder, this.leaseMs))) return false;
    this.leaseAt = performance.now();
    return true;
  }

  /**
   * Before every step: the lease renewed once a quarter of it has gone by (not at every step of
   * thousands of tenants' few expired entries, each a write), so it never runs out under a
   * cycle, whatever its steps delete; false when the purge is to end (stopped, or the lease lost).
   */
  private async keepLease(): Promise<boolean> {
    if (this.stopped) return false;
    return performance.now() - this.leaseAt < this.leaseMs / 4 || (await this.takeLease());
  }

  /**
   * One cycle (or the one under way): every expired entry not under a hold goes, unless
   * another process holds the lease. Resolves to the entries deleted.
   */
  cycle(): Promise<number> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<number> {
    const { store } = this.options;
    if (this.stopped || !(await this.takeLease())) return 0;
    let deleted = 0;
    /**
     * Tenants left out of the rest of this cycle: what had to come first for them (beforeCycle,
     * or onPurged of an earlier receipt) failed. Each receipt's admin trail entry must be written
     * before any of the tenant's later purges, so such a tenant loses nothing more in the cycle.
     */
    const skipped = new Set<string>();
    const stepped = async (tenantId: string, receipt: PurgeReceipt): Promise<void> => {
      deleted += receipt.count;
      this.options.log?.({
        tenantId,
        logType: receipt.logType,
        count: receipt.count,
        from: new Date(receipt.fromMs).toISOString(),
        to: new Date(receipt.toMs).toISOString(),
        receiptLeaf: receipt.leafIndex,
      });
      // A receipt of a month drop that came after one onPurged failed for: left to beforeCycle.
      if (skipped.has(tenantId)) return;
      try {
        await this.options.onPurged?.(tenantId, receipt);
      } catch (err) {
        skipped.add(tenantId);
        throw err;
      }
    };
    const failures: PurgeFailure[] = [];
    // One tenant's failure is noted and the cycle goes on; the store's own (it fails its health
    // check too: every other tenant would fail alike) ends the cycle with it.
    const tenantsOnly = async (err: unknown): Promise<void> => {
      if (this.stopped) throw err;
      try {
        await store.health();
      } catch {
        throw err;
      }
    };
    const failed = async (err: unknown, where: Omit<PurgeFailure, 'err'>): Promise<void> => {
      await tenantsOnly(err);
      failures.push({ ...where, err });
    };
    /** Runs beforeCycle; the tenants it fails for are left out of the rest of the cycle. */
    const beforeSteps = async (): Promise<void> => {
      try {
        await this.options.beforeCycle?.();
      } catch (err) {
        if (!(err instanceof PurgeFailedError) || err.failures.some((f) => f.tenantId === undefined)) throw err;
        await tenantsOnly(err);
        for (const f of err.failures) {
          if (skipped.has(f.tenantId!)) continue;
          failures.push(f);
          skipped.add(f.tenantId!);
        }
      }
    };
    try {
      await beforeSteps();
      // Where everything is kept forever (the default), there is nothing to purge, and the time
      // the purge would go by is no news: not even read (it takes a look at every tenant's types).
      const expiring = await this.anyExpiring();
      if (!expiring && !this.wasHeldBack) return 0;
      const clock = await purgeClock(store, this.now());
      const held = heldBack(clock) && expiring;
      if (held !== this.wasHeldBack) {
        this.wasHeldBack = held;
        this.options.onHeldBack?.(clock, held);
      }
      const now = clock.asOfMs;
      if (now === null) return 0;
      if (store.dropExpiredPartitions) {
        // Whole partitions first, where every entry in them may go: no row is deleted one by one.
        // Nothing expires anywhere (everything is kept forever): no month to look at. The store
        // reads the settings it goes by, again just before a month goes.
        if (expiring) {
          try {
            // A tenant left out of the cycle is kept forever as far as this drop goes: a month
            // holding any entry of it stays whole (the store keeps a month any entry of which is
            // kept), and the steps delete the other tenants' entries in it. Other months still go.
            const cutoffOf = (tenantId: string, type: string, settings: RetentionSettings, types: readonly string[]) =>
              skipped.has(tenantId) ? null : retentionCutoff(effectiveRetention(settings, type, this.options.serverDays, types), now);
            // The lease kept between months: listing a large one takes a while.
            const drops = await store.dropExpiredPartitions(cutoffOf, this.options.logPartition, () => this.keepLease());
            for (const { tenantId, receipt } of drops) {
              try {
                await stepped(tenantId, receipt);
              } catch (err) {
                await failed(err, { tenantId });
              }
            }
          } catch (err) {
            // The steps below delete the same entries, tenant by tenant. The months dropped
            // before the failure made receipts that onPurged was never told of: beforeCycle
            // settles them before any tenant's steps make later ones.
            await failed(err, {});
            await beforeSteps();
          }
          if (!(await this.keepLease())) return deleted;
        }
      }
      for (const tenant of await store.listTenants()) {
        if (skipped.has(tenant.id)) continue;
        let types: string[];
        try {
          types = await store.logTypes(tenant.id);
        } catch (err) {
          await failed(err, { tenantId: tenant.id });
          continue;
        }
        // The admin trail first. It is kept as long as the longest of the tenant's types that hold
        // entries: purged after them, it would be measured against what this cycle left, and a
        // type whose last entries just went would shorten it within the very cycle that deleted them.
        for (const logType of [...types.filter((t) => t === ADMIN_LOG_TYPE), ...types.filter((t) => t !== ADMIN_LOG_TYPE)]) {
          // onPurged failed for one of its receipts: none of its later purges comes before it.
          if (skipped.has(tenant.id)) break;
          try {
            if (!(await this.purgeType(tenant.id, logType, now, stepped))) return deleted;
          } catch (err) {
            await failed(err, { tenantId: tenant.id, logType });
          }
        }
      }
      if (failures.length > 0) throw new PurgeFailedError(failures);
      return deleted;
    } finally {
      await store.releasePurgeLease(this.holder).catch(() => {});
    }
  }

  /**
   * Purges one tenant's log type in steps; false when the purge is to end here (stopped, or the
   * lease lost to another process).
   */
  private async purgeType(
    tenantId: string,
    logType: string,
    now: number,
    stepped: (tenantId: string, receipt: PurgeReceipt) => Promise<void>,
  ): Promise<boolean> {
    const { store } = this.options;
    for (;;) {
      if (!(await this.keepLease())) return false;
      // The settings as they are now, before every step: a retention lengthened (or a type
      // set to forever) while a long purge runs stops it deleting what the change keeps.
      const cutoff = await this.cutoff(tenantId, logType, now);
      if (cutoff === null) return true;
      const started = performance.now();
      const receipt = await store.purge(tenantId, logType, cutoff, this.stepEntries, (settings, types) =>
        retentionCutoff(effectiveRetention(settings, logType, this.options.serverDays, types), now),
      );
      if (receipt.count === 0) return true;
      await stepped(tenantId, receipt);
      if (receipt.count < this.stepEntries) return true;
      // Others get the store for as long as the step had it.
      await giveWay(started);
    }
  }

  /** The event time before which `logType`'s entries of a tenant are expired at `nowMs`, by its settings as they are; null: kept forever. */
  private async cutoff(tenantId: string, logType: string, nowMs: number): Promise<number | null> {
    const { store, serverDays } = this.options;
    const settings = await store.getRetention(tenantId);
    return retentionCutoff(effectiveRetention(settings, logType, serverDays, await store.logTypes(tenantId)), nowMs);
  }

  /** Whether some type of some tenant has a finite effective retention. */
  private async anyExpiring(): Promise<boolean> {
    const { store, serverDays } = this.options;
    for (const tenant of await store.listTenants()) {
      const settings = await store.getRetention(tenant.id);
      const types = await store.logTypes(tenant.id);
      if (types.some((t) => effectiveRetention(settings, t, serverDays, types) !== null)) return true;
    }
    return false;
  }

  /** Stops: no new step starts; resolves once the step under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }
}
