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
export { LogsClient, basicAuthorization, type ListLogsParams, type LogsClientOptions, type TokenProvider } from './logs.ts';
export type { LogEntry, LogsPage, PageRecords, TextPage } from './page.ts';
export { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, type IngestEntry, type IngestLine, type IngestOptions, type IngestResult, type LogEntryLine } from './ingest.ts';
export type { JsonObject, JsonValue } from './lossless-json.ts';
export { parseLossless } from './lossless-json.ts';
export { LogsApiError, isLogsApiError, CLIENT_ERROR_CODES, type ClientErrorCode } from './errors.ts';
export { DEFAULT_BASE_URL, type FetchLike, type RetryOptions, type TransportOptions } from './transport.ts';
export { fetchToken, tokenSource, type Token, type TokenRequest } from './token.ts';
export { GONG_LOG_TYPES, type GongLogType } from '../logs/log-types.ts';
