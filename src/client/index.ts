/**
 * logwarden's client SDK (`logwarden/client`): reads `GET /v2/logs` from logwarden or from
 * any server speaking Gong's contract, and writes to logwarden (`ingest`, `ingestNdjson`).
 *
 * @example
 * import { LogsClient } from 'logwarden/client';
 *
 * const client = new LogsClient({
 *   baseUrl: 'https://us-12345.api.gong.io', // default https://api.gong.io
 *   accessKey: process.env.GONG_ACCESS_KEY!,
 *   secret: process.env.GONG_SECRET!,
 * });
 * for await (const entry of client.entries({ logType: 'AccessLog', fromDateTime: '2025-06-01T00:00:00Z' })) {
 *   console.log(entry.eventTime, entry.userEmailAddress, entry.logRecord);
 * }
 * const { accepted, duplicates } = await client.ingest('AccessLog', [
 *   { userId: '5120938476102938475', eventTime: new Date(), logRecord: { method: 'GET', status: 200 } },
 * ]);
 */

export { GONG_LOG_TYPES, type GongLogType } from '../logs/log-types.ts';
// The verifiable log's types that the verifier, the evidence bundles and TlogClient hand out or take.
export type { BadReceipt, Checkpoint, DeletedLeaf, Hash, NoteVerifier, Tile } from '../tlog/index.ts';
export { CompactRange } from './compact-range.ts';
export {
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  type IngestedBeforeFailure,
  isLogsApiError,
  LogsApiError,
  type LogsApiErrorDetails,
} from './errors.ts';
export {
  type BundleCheck,
  type BundleDeletion,
  checkEvidenceBundle,
  EVIDENCE_FORMAT,
  type EvidenceBundle,
  EvidenceError,
  fetchEvidenceBundle,
  outsideRanges,
  parseEvidenceBundle,
  tlogProofFromBundle,
} from './evidence-bundle.ts';
export {
  type IngestEntry,
  type IngestLine,
  type IngestOptions,
  type IngestResult,
  type LogEntryLine,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRIES,
} from './ingest.ts';
export { FileLeafCache, type LeafCache, MemoryLeafCache } from './leaf-cache.ts';
export {
  type AuditResult,
  type CheckedCheckpoint,
  type LogState,
  LogVerifier,
  type LogVerifierOptions,
  VerifyError,
  type VerifyErrorCode,
  type WindowProof,
  type WindowSpec,
} from './log-verifier.ts';
export {
  basicAuthorization,
  type ListLogsParams,
  LogsClient,
  type LogsClientOptions,
  type RenewableTokenProvider,
  type TokenProvider,
} from './logs.ts';
export type { JsonObject, JsonValue } from './lossless-json.ts';
export { parseLossless } from './lossless-json.ts';
export type { LogEntry, LogsPage, PageRecords, TextPage } from './page.ts';
export {
  type InclusionAnswer,
  type IndexedPage,
  type IndexedTextPage,
  LEAF_INDEX_HEADER,
  parseLeafIndexes,
  TlogClient,
  type TlogClientOptions,
} from './tlog-client.ts';
export { fetchToken, type Token, type TokenRequest, tokenSource } from './token.ts';
export { DEFAULT_BASE_URL, type FetchLike, type RetryOptions, type TransportOptions } from './transport.ts';
