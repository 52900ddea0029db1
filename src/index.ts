/**
 * logwarden as a library: the app factory and store for embedding the server, and the client
 * SDK (also available alone as `logwarden/client`).
 */
export { buildApp, type BuildAppOptions } from './server/app.ts';
export { startServer, type RunningServer } from './server/start.ts';
export { loadConfig, ConfigError, type Config, type ConfigOverrides } from './config.ts';
export { openStore } from './store/open.ts';
export type { Store, Tenant, TenantLimits, AccessKeyRecord, Scope, EntryQuery, AppendResult } from './store/store.ts';
export { LogwardenError, ERROR_STATUS, NO_RECORDS_MESSAGE, type ErrorCode } from './errors.ts';
export * from './client/index.ts';
