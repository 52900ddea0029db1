/** `logwarden serve` — run the server. */
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import { createTenant, issueAccessKey, type IssuedKey } from '../logs/access-keys.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { buildApp } from '../server/app.ts';
import { createLogger } from '../server/logger.ts';
import { configFrom, intFlag, type StoreFlags } from './common.ts';

interface ServeFlags extends StoreFlags {
  port?: string;
  host?: string;
  demo?: boolean;
  logLevel?: string;
}

/** On an empty store: one tenant and a read+write key, so a newcomer can query at once. */
async function bootstrap(store: Store, config: Config): Promise<{ tenantId: string; key: IssuedKey | undefined; preset: boolean } | undefined> {
  if ((await store.listTenants()).length > 0) return undefined;
  const tenant = await createTenant(store, 'default');
  const preset =
    config.bootstrapAccessKey && config.bootstrapSecret ? { accessKey: config.bootstrapAccessKey, secret: config.bootstrapSecret } : undefined;
  const key = await issueAccessKey(store, tenant.id, ['api:logs:read', 'api:logs:write'], preset);
  return { tenantId: tenant.id, key, preset: preset !== undefined };
}

function printWelcome(boot: { tenantId: string; key: IssuedKey | undefined; preset: boolean }, base: string): void {
  const key = boot.key!;
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10) + 'T00:00:00Z';
  const cred = boot.preset ? `${key.accessKey}:$LOGWARDEN_BOOTSTRAP_SECRET` : `${key.accessKey}:${key.secret}`;
  const lines = [
    '',
    'logwarden: created tenant ' + boot.tenantId + ' and an access key with scopes api:logs:read api:logs:write.',
    boot.preset ? '  (access key and secret preset by LOGWARDEN_BOOTSTRAP_ACCESS_KEY / _SECRET)' : 'Store the secret now: it is shown only this once.',
    '',
    `  access key: ${key.accessKey}`,
    boot.preset ? '' : `  secret:     ${key.secret}`,
    '',
    'Write an entry:',
    `  curl -u '${cred}' -H 'Content-Type: application/json' \\`,
    `    -d '{"logType":"AccessLog","logEntries":[{"userId":"1","eventTime":"${new Date().toISOString()}","logRecord":{"method":"GET","status":200}}]}' \\`,
    `    ${base}/v2/logs`,
    'Read entries:',
    `  curl -u '${cred}' '${base}/v2/logs?logType=AccessLog&fromDateTime=${from}'`,
    '',
  ];
  process.stderr.write(lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n') + '\n');
}

/** Starts a server; resolves once it listens. `stop()` drains in-flight requests, then closes the store. */
export async function startServer(config: Config, options: { demo?: boolean; welcome?: boolean } = {}): Promise<{ app: FastifyInstance; url: string; stop(): Promise<void> }> {
  const logger = createLogger(config.logLevel);
  const store = await openStore(config);
  let app: FastifyInstance | undefined;
  try {
    const boot = await bootstrap(store, config);
    if (options.demo) {
      const { loadDemoData } = await import('../logs/demo-data.ts' as string) as typeof import('../logs/demo-data.ts');
      const tenantId = boot?.tenantId ?? (await store.listTenants())[0]!.id;
      const r = await loadDemoData(store, tenantId, {});
      process.stderr.write(`logwarden: demo data for tenant ${tenantId}: ${r.accepted} entries stored (${r.duplicates} already there)\n`);
    }
    app = await buildApp({ config, store, logger });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    if (boot && options.welcome !== false) printWelcome(boot, url);
    logger.info({ url, store: store.kind }, 'listening');
    const running = app;
    let stopping: Promise<void> | undefined;
    return {
      app: running,
      url,
      stop() {
        stopping ??= (async () => {
          try {
            await running.close();
          } finally {
            await store.close();
          }
        })();
        return stopping;
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await store.close();
    throw err;
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server (GET /v2/logs, POST /v2/logs, POST /oauth2/token, /healthz, /readyz, /metrics, /docs)')
    .option('--port <port>', 'TCP port [env: LOGWARDEN_PORT] (default: 8080)')
    .option('--host <host>', 'interface to listen on [env: LOGWARDEN_HOST] (default: 127.0.0.1)')
    .option('--data-dir <dir>', 'directory of the embedded SQLite store [env: LOGWARDEN_DATA_DIR] (default: ./logwarden-data)')
    .option('--database-url <url>', 'PostgreSQL store instead, postgres://… [env: LOGWARDEN_DATABASE_URL]')
    .option('--demo', 'load realistic synthetic entries of all five log types over the last 30 days')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent [env: LOGWARDEN_LOG_LEVEL] (default: info)')
    .addHelpText(
      'after',
      '\nOn first start with an empty store, a tenant and a read+write access key are created and printed\n' +
        'once on stderr with ready-to-paste curl lines (LOGWARDEN_BOOTSTRAP_ACCESS_KEY and\n' +
        'LOGWARDEN_BOOTSTRAP_SECRET preset them for automated set-ups). SIGTERM or SIGINT stops accepting\n' +
        'connections, lets in-flight requests finish and closes the store.\n\n' +
        'Examples:\n  logwarden serve\n  logwarden serve --demo --port 9090\n  logwarden serve --database-url postgres://logwarden@db:5432/logwarden\n',
    )
    .action(async (opts: ServeFlags) => {
      const config = configFrom(opts, {
        port: intFlag('--port', opts.port, 0, 65535),
        host: opts.host,
        logLevel: opts.logLevel,
      });
      const server = await startServer(config, { demo: opts.demo === true });
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          process.stderr.write(`logwarden: ${signal} received, finishing in-flight requests…\n`);
          server.stop().then(resolve, (err: unknown) => {
            process.stderr.write(`logwarden: error while stopping: ${String(err)}\n`);
            resolve();
          });
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
    });
}
