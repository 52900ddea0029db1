/** `logwarden serve` — run the server. */
import cluster from 'node:cluster';
import { closeSync, fchmodSync, fsyncSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { gongRetentionText } from '../admin/gong-retention.ts';
import { daysText } from '../admin/retention.ts';
import type { Config, LogFormat } from '../config.ts';
import type { Bootstrap, Listening } from '../server/start.ts';
import { onStopSignal } from '../server/stop-signals.ts';
import { configFrom, intFlag, type StoreFlags } from './common.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { checkTempDir, explainStartFailure } from './serve-errors.ts';

interface ServeFlags extends StoreFlags {
  workers?: string;
  port?: string;
  host?: string;
  demo?: boolean;
  gongRetention?: boolean;
  logLevel?: string;
  requestTimeout?: string;
  drainTimeout?: string;
  logFormat?: string;
  redisUrl?: string;
}

/** Where a first start off a terminal leaves the first key's secret: in the data directory, or (PostgreSQL) the working directory. */
function firstKeyFile(config: Config): string {
  return config.databaseUrl ? resolve('logwarden-first-access-key') : join(resolve(config.dataDir), 'first-access-key');
}

/**
 * Writes the first key's secret to `file`, readable by its owner only; the reason when it cannot.
 * Standard error off a terminal goes to a log or a service manager's journal, which would keep it.
 */
function writeFirstKey(file: string, boot: Bootstrap): string | undefined {
  const text =
    `# logwarden: the first access key of tenant ${boot.tenantId}, made ${new Date().toISOString()}.\n` +
    '# Store the secret (a password manager, a secret store), then delete this file.\n' +
    `access key: ${boot.key.accessKey}\nsecret:     ${boot.key.secret}\ntenant:     ${boot.tenantId}\n`;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'w', 0o600);
    fchmodSync(fd, 0o600);
    writeFileSync(fd, text); // whole: a write may take part of what it is given
    fsyncSync(fd);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function printWelcome(boot: Bootstrap, base: string, config: Config): void {
  const key = boot.key;
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10) + 'T00:00:00Z';
  // Off a terminal the secret is never printed: it goes to a file only its owner reads.
  const file = boot.preset || process.stderr.isTTY === true ? undefined : firstKeyFile(config);
  const unwritten = file === undefined ? undefined : writeFirstKey(file, boot);
  const secretWord = boot.preset
    ? '$LOGWARDEN_BOOTSTRAP_SECRET'
    : file === undefined
      ? key.secret
      : unwritten === undefined
        ? `$(sed -n 's/^secret: *//p' ${shellWord(file)})`
        : 'SECRET';
  const cred = `${key.accessKey}:${secretWord}`;
  const storeFlag = config.databaseUrl ? ' --database-url …' : ` --data-dir ${shellWord(config.dataDir)}`;
  const secretLines = boot.preset
    ? ['  (access key and secret preset by LOGWARDEN_BOOTSTRAP_ACCESS_KEY / _SECRET)']
    : file === undefined
      ? ['Store the secret now: it is shown only this once.']
      : unwritten === undefined
        ? [
            'Its secret is not printed: standard error is not a terminal, and a log or a service manager would keep it.',
            `It is in ${file} (readable by its owner only): store it, then delete the file.`,
          ]
        : [
            `Its secret is not printed (standard error is not a terminal) and could not be written to ${file}: ${unwritten}.`,
            `Make another key and revoke this one: logwarden keys create --tenant ${boot.tenantId} --scope read --scope write${storeFlag}`,
          ];
  const lines = [
    '',
    'logwarden: created tenant ' + boot.tenantId + ' and an access key with scopes api:logs:read api:logs:write.',
    ...secretLines,
    '',
    `  access key: ${key.accessKey}`,
    boot.preset || file !== undefined ? '' : `  secret:     ${key.secret}`,
    '',
    'Write an entry:',
    `  curl -u "${cred}" -H 'Content-Type: application/json' \\`,
    `    -d '{"logType":"AccessLog","logEntries":[{"userId":"1","eventTime":"${new Date().toISOString()}","logRecord":{"method":"GET","status":200}}]}' \\`,
    `    ${base}/v2/logs`,
    'Read entries:',
    `  curl -u "${cred}" '${base}/v2/logs?logType=AccessLog&fromDateTime=${from}'`,
    'Browse them in the console (sign in with the access key and secret):',
    `  ${base}/console`,
    '',
  ];
  process.stderr.write(lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n') + '\n');
}

/**
 * On a store that already has tenants no credentials are printed: say how to get a key when
 * its secret is lost, with the flags that reach this store (never a database URL: it may hold
 * a password). It does not claim the keys were printed: a first start stopped before it
 * listened (Ctrl-C while --demo loads) created its key without showing it.
 */
function printRestartHint(config: Config, tenantId: string | undefined): void {
  const where = config.databaseUrl ? 'the PostgreSQL store' : `the store in ${config.dataDir}`;
  const storeFlag = config.databaseUrl ? ' --database-url …' : ` --data-dir ${shellWord(config.dataDir)}`;
  process.stderr.write(
    `logwarden: serving ${where}; a secret is shown only once, when its key is created.\n` +
      `  Lost a secret? Make a new key: logwarden keys create --tenant ${tenantId ?? 'ID'} --scope read --scope write${storeFlag}\n` +
      (tenantId === undefined ? '  (tenant ids: logwarden tenants list)\n' : ''),
  );
}

const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function announce(listening: Listening, config: Config, workers: number): void {
  if (listening.bootstrap) printWelcome(listening.bootstrap, listening.url, config);
  else printRestartHint(config, listening.tenantId);
  if (listening.gongRetention) {
    const { kept } = listening.gongRetention;
    const gong = gongRetentionText(kept.map((k) => k.logType));
    if (gong !== '') {
      process.stderr.write(
        `logwarden: demo tenant ${listening.tenantId} keeps Gong's published retention (--gong-retention): ${gong};\n` +
          '  older entries of those types are not loaded, and retention deletes them as they age (see `logwarden tenants retention`).\n',
      );
    }
    for (const k of kept) {
      process.stderr.write(
        `logwarden: ${k.logType} of demo tenant ${listening.tenantId} keeps its own retention (${daysText(k.days)}), not Gong's: --gong-retention\n` +
          `  sets only types with no setting; \`logwarden tenants retention ${listening.tenantId} --type ${k.logType} --clear\` lets the next start set it\n`,
      );
    }
  }
  const how = workers > 1 ? ` with ${workers} workers` : '';
  if (workers > 1 && !config.redisUrl) {
    process.stderr.write('logwarden: rate limits are counted per worker process; set LOGWARDEN_REDIS_URL to share them\n');
  }
  process.stderr.write(`logwarden: listening on ${listening.url}${how} (docs: ${listening.url}/docs)\n`);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server (GET /v2/logs, POST /v2/logs, POST /oauth2/token, /healthz, /readyz, /metrics, /docs)')
    .option('--port <port>', 'TCP port [env: LOGWARDEN_PORT] (default: 8080)')
    .option('--host <host>', 'interface to listen on [env: LOGWARDEN_HOST] (default: 127.0.0.1)')
    .option('--data-dir <dir>', 'directory of the embedded SQLite store [env: LOGWARDEN_DATA_DIR] (default: ./logwarden-data)')
    .option('--database-url <url>', 'PostgreSQL store instead, postgres://… [env: LOGWARDEN_DATABASE_URL]')
    .option(
      '--demo',
      'load realistic synthetic entries of all five log types over the last 30 days into the demo tenant (made by a first --demo start on an empty store; any other store is refused)',
    )
    .option(
      '--gong-retention',
      "with --demo: the demo tenant keeps entries as long as Gong does (AccessLog 14 days), so clients meet Gong's retention",
    )
    .option('--redis-url <url>', 'count rate limits in Redis, shared by every process and server, redis://… [env: LOGWARDEN_REDIS_URL]')
    .option('--workers <n>', 'server processes sharing the port (node:cluster); give --redis-url so they share rate limits (default: 1)')
    .option(
      '--request-timeout <ms>',
      'ms a request may take to send its headers; its body must bring ≥ 1 KiB/s over each such period, else 408 [env: LOGWARDEN_REQUEST_TIMEOUT_MS] (default: 30000)',
    )
    .option(
      '--drain-timeout <ms>',
      'ms a stop waits for requests in flight before it closes their connections, unacknowledged [env: LOGWARDEN_DRAIN_TIMEOUT_MS] (default: 30000)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent [env: LOGWARDEN_LOG_LEVEL] (default: info)')
    .option(
      '--log-format <format>',
      'pretty (readable lines), json (one JSON object per line) or auto: pretty when stdout is a terminal [env: LOGWARDEN_LOG_FORMAT] (default: auto)',
    )
    .addHelpText(
      'after',
      '\nOn first start with an empty store, a tenant and a read+write access key are created and printed\n' +
        'once on stderr with ready-to-paste curl lines and the address of the web console (/console,\n' +
        'where they sign in). Off a terminal the secret is not printed (a log would keep it): it goes to\n' +
        'first-access-key in the data directory, readable by its owner only (with PostgreSQL:\n' +
        'logwarden-first-access-key in the working directory). LOGWARDEN_BOOTSTRAP_ACCESS_KEY and\n' +
        'LOGWARDEN_BOOTSTRAP_SECRET preset them for automated set-ups. A later start prints the `logwarden keys create` command that\n' +
        'makes a new key if a secret is lost. The log (stdout) is\n' +
        'readable lines on a terminal, JSON lines otherwise. SIGTERM or SIGINT stops accepting\n' +
        'connections, lets in-flight requests finish (for 30 s at most, --drain-timeout: then their connections\n' +
        'are closed, unacknowledged, for clients to retry) and closes the store. --demo loads only into a demo\n' +
        'tenant: the one a first start with --demo creates on an empty store (its admin trail records\n' +
        '`tenant.demo`). On any other store holding data (a real one, or a demo store of a logwarden before the\n' +
        "record) it refuses to start and writes nothing: demo entries could never be removed from a tenant's\n" +
        'signed log. Give the demo a new --data-dir (or database) of its own, or drop --demo. --demo --gong-retention sets the\n' +
        "demo tenant's retention to Gong's published one (AccessLog 14 days; written to its admin trail)\n" +
        "for each type with no setting of its own: an operator's own setting is never overridden.\n\n" +
        'Examples:\n  logwarden serve\n  logwarden serve --demo --port 9090\n  logwarden serve --demo --gong-retention\n  logwarden serve --log-format json >> logwarden.log\n  LOGWARDEN_REDIS_URL=redis://127.0.0.1:6379 logwarden serve --workers 4\n  logwarden serve --database-url postgres://logwarden@db:5432/logwarden\n',
    )
    .action(async (opts: ServeFlags) => {
      if (opts.gongRetention && !opts.demo) throw new UsageError('--gong-retention applies to the demo tenant: use it with --demo');
      const config = configFrom(opts, {
        port: intFlag('--port', opts.port, 0, 65535),
        host: opts.host,
        logLevel: opts.logLevel,
        requestTimeoutMs: intFlag('--request-timeout', opts.requestTimeout, 100, 3_600_000),
        drainTimeoutMs: intFlag('--drain-timeout', opts.drainTimeout, 0, 3_600_000),
        logFormat: opts.logFormat as LogFormat | undefined,
        redisUrl: opts.redisUrl,
      });
      const workers = intFlag('--workers', opts.workers, 1, 256) ?? 1;
      // The primary checks and warns for its workers, which share its environment and store.
      if (!cluster.isWorker) {
        checkTempDir();
      }
      if (workers > 1 || cluster.isWorker) {
        const { runPrimary, runWorker } = await import('../server/workers.ts');
        if (cluster.isWorker) {
          return runWorker(config).catch((err: unknown) => {
            throw explainStartFailure(err, config);
          });
        }
        const code = await runPrimary(config, workers, {
          demo: opts.demo === true,
          gongRetention: opts.gongRetention === true,
          onListening: (listening) => announce(listening, config, workers),
        }).catch((err: unknown) => {
          throw explainStartFailure(err, config);
        });
        if (code !== 0) throw new CommandError('the server stopped because its workers failed (see above)');
        return;
      }
      // Loaded here so that other commands do not pay for the server's modules.
      const { startServer } = await import('../server/start.ts');
      const { checkBeforeStart } = await import('../server/start-checks.ts');
      await checkBeforeStart(config).catch((err: unknown) => {
        throw explainStartFailure(err, config);
      });
      // A signal from the moment the server listens (what a supervisor waits for) stops it
      // gracefully, even one that comes before `startServer` has returned the server.
      let requested: NodeJS.Signals | undefined;
      let onSignal = (signal: NodeJS.Signals) => {
        requested = signal;
      };
      const server = await startServer(config, {
        demo: opts.demo === true,
        gongRetention: opts.gongRetention === true,
        onListening: (listening) => {
          onStopSignal((signal) => onSignal(signal));
          return announce(listening, config, 1);
        },
      }).catch((err: unknown) => {
        throw explainStartFailure(err, config);
      });
      await new Promise<void>((resolve) => {
        onSignal = (signal) => {
          process.stderr.write(`logwarden: ${signal} received, finishing in-flight requests…\n`);
          server.stop().then(resolve, (err: unknown) => {
            process.stderr.write(`logwarden: error while stopping: ${String(err)}\n`);
            resolve();
          });
        };
        if (requested !== undefined) onSignal(requested);
      });
    });
}
