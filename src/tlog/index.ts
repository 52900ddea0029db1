/**
 * The verifiable log's store-independent core (SPEC §11): RFC 6962 hashing and proofs over
 * stored hashes, C2SP tlog-tiles, signed notes and checkpoints with Ed25519, the entry leaf
 * and tlog-proof@v1 formats. See docs/verifiable-log.md.
 */
export { decodeBase64, encodeBase64 } from './base64.ts';
export { type Checkpoint, CheckpointError, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.ts';
export { consistencyRanges, consistencyRoots, consistencyRootsFrom, proveConsistency, verifyConsistency } from './consistency-proof.ts';
export {
  DELETION_LEAF_V1,
  type DeletionReceipt,
  DeletionReceiptError,
  deletedLeavesDigest,
  formatDeletionReceipt,
  isDeletionReceipt,
  parseDeletionReceipt,
} from './deletion-receipt.ts';
export { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_BYTES } from './entry-bundle.ts';
export {
  buildEntryLeaf,
  ENTRY_LEAF_V1,
  type EntryLeaf,
  EntryLeafError,
  entryLeafHash,
  parseEntryLeaf,
  wireTextDigest,
} from './entry-leaf.ts';
export { EMPTY_TREE_HASH, HASH_SIZE, type Hash, hashesEqual, leafHash, nodeHash } from './hash.ts';
export { type HashReader, readHashes } from './hash-reader.ts';
export { inclusionRanges, proveInclusion, rootFromInclusionProof, verifyInclusion } from './inclusion-proof.ts';
export { MemoryTree } from './memory-tree.ts';
export { InconsistentTreeError, type NextCheckpoint, signNextCheckpoint } from './next-checkpoint.ts';
export {
  ed25519Signer,
  ed25519Verifier,
  generateNoteKey,
  isValidKeyName,
  keyId,
  NoteKeyError,
  type NoteSigner,
  type NoteVerifier,
  parseSignerKey,
  parseVerifierKey,
} from './note-key.ts';
export { NoteError, type NoteSignature, type OpenedNote, openNote, signNote, splitNote } from './signed-note.ts';
export { splitStoredHashIndex, storedHashCount, storedHashIndex } from './stored-hash-index.ts';
export { type StoredHash, storedHashesForLeaf, storedHashesForLeaves } from './stored-hashes.ts';
export { deriveTenantSigner, MIN_SECRET_BYTES } from './tenant-key.ts';
export {
  encodeTileIndex,
  entryBundlePath,
  newTiles,
  type ParsedTilePath,
  parseTilePath,
  readTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Tile,
  tileInTree,
  tilePath,
  tilesForTree,
} from './tile.ts';
export { type TileFetcher, tileHashReader } from './tile-hash-reader.ts';
export { formatTlogProof, parseTlogProof, TLOG_PROOF_V1, type TlogProof, TlogProofError, verifyTlogProof } from './tlog-proof.ts';
export { treeHash } from './tree-hash.ts';
export {
  type AuditWindow,
  auditWindow,
  type BadReceipt,
  checkDeletionReceipts,
  contentKey,
  type DeletedLeaf,
  keyParts,
  type ServedEntry,
  type WindowAudit,
  WindowMatcher,
} from './window-audit.ts';
