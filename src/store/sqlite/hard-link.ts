/** A hard link where the file system has them; backup and restore rename instead where it has none. */
import { linkSync } from 'node:fs';

/** What a file system without hard links (some FUSE, SMB and vfat mounts) answers a link with. */
const NO_HARD_LINKS: ReadonlySet<string> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** The link step: linkSync, or what a test gives in its place. */
export type LinkStep = (from: string, to: string) => void;

/** Links `from` to `to` with `link`; false where the file system has no hard links (any other failure is thrown). */
export function linked(from: string, to: string, link: LinkStep = linkSync): boolean {
  try {
    link(from, to);
    return true;
  } catch (err) {
    if (NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}
