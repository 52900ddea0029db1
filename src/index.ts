/**
 * logwarden as a library: the app factory and store for embedding the server, and the client
 * SDK (also available alone as `logwarden/client`).
 */

export * from './client/index.ts';
export { type Config, ConfigError, type ConfigOverrides, loadConfig } from './config.ts';
export { ERROR_STATUS, type ErrorCode, LogwardenError, NO_RECORDS_MESSAGE } from './errors.ts';
export { type BuildAppOptions, buildApp } from './server/app.ts';
export { type RunningServer, startServer } from './server/start.ts';
export { openStore } from './store/open.ts';
export type { AccessKeyRecord, AppendResult, EntryQuery, Scope, Store, Tenant, TenantLimits } from './store/store.ts';
