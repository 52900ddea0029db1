/**
 * Full tiles and full entry bundles of the tenants' verifiable logs, kept in memory up to a
 * budget of bytes. A full tile never changes: its 256 leaves (or hashes) are fixed once the
 * tree has them, and retention keeps deleted entries' leaves in the tree, so whatever was
 * served for a tile's path is what that path holds for ever. Keys carry the tenant: a caller
 * reaches this cache only after the route has checked that the log is its own and that the
 * tile exists in the tree, and gets only what was built for its own tenant. Partial tiles
 * change as the tree grows and are never kept.
 */
import { ByteBudgetLru, ownBytes } from '../store/segment-cache.ts';

/** About 100 full entry bundles of 256 typical leaves, gzipped, per megabyte. */
export const FULL_TILE_CACHE_BYTES = 32 * 1024 * 1024;

export class FullTileCache {
  private readonly lru: ByteBudgetLru<string, Buffer>;
  private readonly building = new Map<string, Promise<Buffer>>();

  constructor(
    budget: number,
    private readonly onLookup: (hit: boolean) => void = () => undefined,
  ) {
    this.lru = new ByteBudgetLru(budget);
  }

  /** The bytes of `path` in `tenantId`'s log: from memory, or built once by `build` (concurrent asks share one build). */
  async get(tenantId: string, path: string, build: () => Promise<Buffer>): Promise<Buffer> {
    const key = `${tenantId}/${path}`;
    const hit = this.lru.get(key);
    this.onLookup(hit !== undefined);
    if (hit !== undefined) return hit;
    let pending = this.building.get(key);
    if (pending === undefined) {
      pending = build().then(
        (bytes) => {
          this.building.delete(key);
          const own = ownBytes(bytes);
          this.lru.set(key, own, own.length + key.length);
          return own;
        },
        (err: unknown) => {
          this.building.delete(key);
          throw err;
        },
      );
      this.building.set(key, pending);
    }
    return pending;
  }
}
