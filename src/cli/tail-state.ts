/**
 * The state file of `logwarden tail --state FILE`: the tenant, the next leaf to send and the
 * root of the tenant's tree at that size. The root ties the file to the log it was written
 * after: a state file of another store, or a store put back to an earlier state, is refused
 * rather than streamed from a wrong point. Written whole (a file beside it, synced, renamed over
 * it), so a crash leaves the previous state or the new one.
 */

import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TenantLog } from '../store/store.ts';
import { decodeBase64, encodeBase64 } from '../tlog/base64.ts';
import { hashesEqual } from '../tlog/hash.ts';
import { treeHash } from '../tlog/tree-hash.ts';
import { fileProblem } from './common.ts';
import { CommandError } from './exit-codes.ts';

export interface TailState {
  readonly tenant: string;
  /** The next leaf to send: every leaf before it was sent. */
  readonly nextLeaf: number;
  /** The tree hash of the tenant's first `nextLeaf` leaves. */
  readonly root: Uint8Array;
}

/** The state kept in `path`; undefined when there is no such file yet. */
export async function readTailState(path: string): Promise<TailState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CommandError(`cannot read the state file ${path} (${fileProblem(err, true)})`);
  }
  // Never taken for "no state yet": that would begin after the last entry and skip what was not sent.
  const restart =
    'nothing is sent. To go on, remove it and give --from-leaf N with N one more than the last leafIndex your destination holds ' +
    '(or --from-start to send everything again)';
  if (text.trim() === '') throw new CommandError(`the state file ${path} is empty (cut short, or made by hand): ${restart}`);
  let parsed: { tenant?: unknown; nextLeaf?: unknown; root?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = {};
  }
  const root = typeof parsed.root === 'string' ? decodeBase64(parsed.root) : null;
  if (typeof parsed.tenant !== 'string' || !Number.isSafeInteger(parsed.nextLeaf) || (parsed.nextLeaf as number) < 0 || root?.length !== 32) {
    throw new CommandError(`${path} is not a state file of logwarden tail: ${restart}`);
  }
  return { tenant: parsed.tenant, nextLeaf: parsed.nextLeaf as number, root };
}

/** The state at leaf `nextLeaf` of `log` (within its checkpoint). */
export async function tailStateAt(tenant: string, log: TenantLog, nextLeaf: number): Promise<TailState> {
  return { tenant, nextLeaf, root: await treeHash(nextLeaf, log.reader) };
}

/**
 * Refuses to go on from `state` with `log` unless the log holds the leaves the state was
 * written after: the same tenant, at least `nextLeaf` leaves, the same root at that size.
 */
export async function checkTailState(path: string, state: TailState, tenant: string, log: TenantLog): Promise<void> {
  if (state.tenant !== tenant) {
    throw new CommandError(`the state file ${path} is of tenant ${state.tenant}, not ${tenant}: give each tenant's tail its own --state file`);
  }
  const size = log.checkpoint.size;
  if (size < state.nextLeaf) {
    throw new CommandError(
      `the store holds ${size} leaves of tenant ${tenant}'s log, fewer than the ${state.nextLeaf} the state file ${path} says were sent: ` +
        'the store was put back to an earlier state (a backup restored?) and nothing is sent. ' +
        `To send from where this store's log ends now, remove ${path}`,
    );
  }
  const root = await treeHash(state.nextLeaf, log.reader);
  if (!hashesEqual(root, state.root)) {
    throw new CommandError(
      `the state file ${path} does not match tenant ${tenant}'s log in this store: its first ${state.nextLeaf} leaves are not those sent ` +
        '(a state file of another store, or a store put back to an earlier state and written to since), so nothing is sent. ' +
        `To send from a leaf of this store's log, remove ${path} and give --from-leaf N or --from-start`,
    );
  }
}

/** Writes `state` to `path` whole: into a file beside it, synced to disk, then renamed over it. */
export async function writeTailState(path: string, state: TailState): Promise<void> {
  const part = `${path}.${process.pid}.part`;
  const text = `${JSON.stringify({ tenant: state.tenant, nextLeaf: state.nextLeaf, root: encodeBase64(state.root) })}\n`;
  try {
    const fh = await open(part, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(part, path);
    // The rename itself on disk too: the first state of a run would otherwise be lost with power.
    const folder = await open(dirname(path), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (err) {
    await rm(part, { force: true });
    throw new CommandError(`cannot write the state file ${path} (${fileProblem(err)})`);
  }
}
