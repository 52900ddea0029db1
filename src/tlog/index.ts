/**
 * The verifiable log's store-independent core (SPEC §11): RFC 6962 hashing and proofs over
 * stored hashes, C2SP tlog-tiles, signed notes and checkpoints with Ed25519, the entry leaf
 * and tlog-proof@v1 formats. See docs/verifiable-log.md.
 */
export { decodeBase64, encodeBase64 } from './base64.ts';
export { CheckpointError, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint, type Checkpoint } from './checkpoint.ts';
export { consistencyRanges, proveConsistency, verifyConsistency } from './consistency-proof.ts';
export { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_BYTES } from './entry-bundle.ts';
export {
  buildEntryLeaf,
  ENTRY_LEAF_V1,
  entryLeafHash,
  EntryLeafError,
  parseEntryLeaf,
  wireTextDigest,
  type EntryLeaf,
} from './entry-leaf.ts';
export { EMPTY_TREE_HASH, HASH_SIZE, hashesEqual, leafHash, nodeHash, type Hash } from './hash.ts';
export { readHashes, type HashReader } from './hash-reader.ts';
export { inclusionRanges, proveInclusion, rootFromInclusionProof, verifyInclusion } from './inclusion-proof.ts';
export { MemoryTree } from './memory-tree.ts';
export {
  ed25519Signer,
  ed25519Verifier,
  generateNoteKey,
  isValidKeyName,
  keyId,
  NoteKeyError,
  parseSignerKey,
  parseVerifierKey,
  type NoteSigner,
  type NoteVerifier,
} from './note-key.ts';
export { NoteError, openNote, signNote, splitNote, type NoteSignature, type OpenedNote } from './signed-note.ts';
export { splitStoredHashIndex, storedHashCount, storedHashIndex } from './stored-hash-index.ts';
export { storedHashesForLeaf, storedHashesForLeaves, type StoredHash } from './stored-hashes.ts';
export { deriveTenantSigner, MIN_SECRET_BYTES } from './tenant-key.ts';
export { tileHashReader, type TileFetcher } from './tile-hash-reader.ts';
export {
  encodeTileIndex,
  entryBundlePath,
  newTiles,
  parseTilePath,
  readTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  tileInTree,
  tilePath,
  tilesForTree,
  type ParsedTilePath,
  type Tile,
} from './tile.ts';
export { formatTlogProof, parseTlogProof, TLOG_PROOF_V1, TlogProofError, verifyTlogProof, type TlogProof } from './tlog-proof.ts';
export { treeHash } from './tree-hash.ts';
export { InconsistentTreeError, signNextCheckpoint, type NextCheckpoint } from './next-checkpoint.ts';
export { auditWindow, type AuditWindow, type ServedEntry, type WindowAudit } from './window-audit.ts';
