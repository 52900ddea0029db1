/**
 * What both stores take for the verifiable log: its keys, and how the upgrade that builds
 * trees for entries stored before them reports progress.
 */
import type { LogKeyOptions } from './tree-keys.ts';

/** Told of the progress of building one tenant's tree during the upgrade. */
export type TreeProgress = (p: { tenantId: string; done: number; total: number }) => void;

export interface TreeOptions {
  /** The verifiable log's signing secret and origin prefix (default: kept in the store). */
  log?: LogKeyOptions;
  /**
   * The directory of the witness of the signed checkpoints (`log-witness.db`; created if
   * missing): default the SQLite store's data directory; the PostgreSQL store keeps one only
   * when given.
   */
  witnessDir?: string;
  /** Told of the progress of building trees for entries stored before the upgrade (default: stderr, when large). */
  onTreeProgress?: TreeProgress;
  /** Leaves built per transaction by that upgrade (tests make it small). */
  treeBackfillChunk?: number;
}

/** The default progress report of the tree upgrade: a line per chunk, only when there are several. */
export const reportTreeProgress: TreeProgress = ({ tenantId, done, total }) => {
  if (total > 65_536) process.stderr.write(`logwarden store: building the verifiable log of tenant ${tenantId}: ${done}/${total} entries\n`);
};
