/**
 * `audit`: leaves per second that `logwarden verify` audits from a local server (issue 11: at
 * least 200,000). Each run is `LogVerifier.audit` from leaf 0 with an empty leaf cache, as a
 * first `verify` run does: every entry bundle over HTTP (gzip), every leaf hashed into the
 * tree's edge, the root compared with the signed checkpoint. Besides wall-clock leaves/s, the
 * leaves per CPU-second of each side (this process; the server's process tree), which a shared
 * machine distorts much less.
 */
import { LogVerifier, MemoryLeafCache, TlogClient } from '../../src/client/index.ts';
import type { ServerProcess } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';

export interface AuditOptions {
  readonly runs: number;
  /** Entry bundles in flight. */
  readonly concurrency: number;
  /** Also compare every hash tile with the audited tree. */
  readonly checkTiles?: boolean;
}

export interface AuditRun {
  readonly seconds: number;
  readonly leavesPerSecond: number;
  readonly leavesPerClientCpuSecond: number;
  readonly leavesPerServerCpuSecond: number;
}

export interface AuditFigures {
  /** The median run's. */
  readonly leavesPerSecond: number;
  readonly leavesPerClientCpuSecond: number;
  readonly leavesPerServerCpuSecond: number;
  /** Leaves of the audited tree (the checkpoint's size). */
  readonly leaves: number;
  readonly runs: readonly AuditRun[];
}

export interface AuditTarget {
  readonly server: ServerProcess;
  readonly tenantId: string;
  readonly accessKey: string;
  readonly secret: string;
}

export async function measureAudit(t: AuditTarget, o: AuditOptions): Promise<AuditFigures> {
  const runs: AuditRun[] = [];
  let leaves = 0;
  for (let r = 0; r < o.runs; r++) {
    const client = new TlogClient({ baseUrl: t.server.url, tenantId: t.tenantId, accessKey: t.accessKey, secret: t.secret, requestsPerSecond: 0 });
    const verifier = new LogVerifier({ client, cache: new MemoryLeafCache(), concurrency: o.concurrency });
    const { checkpoint } = await verifier.checkpoint();
    const cpu = process.cpuUsage();
    const serverCpu = t.server.cpuSeconds();
    const result = await verifier.audit(checkpoint, undefined, { checkTiles: o.checkTiles ?? false });
    const used = process.cpuUsage(cpu);
    const serverSeconds = t.server.cpuSeconds() - serverCpu;
    leaves = result.size;
    runs.push({
      seconds: round(result.elapsedMs / 1000, 3),
      leavesPerSecond: round(result.size / (result.elapsedMs / 1000)),
      leavesPerClientCpuSecond: round(result.size / ((used.user + used.system) / 1e6)),
      leavesPerServerCpuSecond: serverSeconds > 0 ? round(result.size / serverSeconds) : 0,
    });
  }
  return {
    leavesPerSecond: median(runs.map((r) => r.leavesPerSecond)),
    leavesPerClientCpuSecond: median(runs.map((r) => r.leavesPerClientCpuSecond)),
    leavesPerServerCpuSecond: median(runs.map((r) => r.leavesPerServerCpuSecond)),
    leaves,
    runs,
  };
}
