/** `logwarden keys create|list|revoke` */
import type { Command } from 'commander';
import { cliActor } from '../admin/actor.ts';
import { createKeyAct, revokeKeyAct } from '../admin/keys.ts';
import { type AccessKeyRecord, SCOPES, type Scope } from '../store/store.ts';
import {
  jsonOutput,
  noTenant,
  printJson,
  printTable,
  type StoreFlags,
  storeConfigFrom,
  storeOptions,
  withExistingStore,
  writeOut,
} from './common.ts';
import { parseDuration } from './dates.ts';
import { CommandError, UsageError } from './exit-codes.ts';

const SHORT: Record<string, Scope> = { read: 'api:logs:read', write: 'api:logs:write' };

function parseScopes(values: readonly string[]): Scope[] {
  if (values.length === 0) throw new UsageError('give at least one --scope (api:logs:read, api:logs:write)');
  return [
    ...new Set(
      values.map((v) => {
        const s = SHORT[v] ?? v;
        if (!(SCOPES as readonly string[]).includes(s))
          throw new UsageError(`unknown scope ${JSON.stringify(v)} (use api:logs:read or api:logs:write, or for short read or write)`);
        return s as Scope;
      }),
    ),
  ];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Whether a key's last use is known: false for a key created before the store recorded uses,
 * until its first recorded use (before then, no use recorded does not mean never used).
 */
const lastUseKnown = (k: AccessKeyRecord): boolean => k.lastUsedAt !== null || k.usesRecordedSince === null;

/**
 * Active keys not known to be used since `cutoffMs`: last used before it, never used and created
 * before it, or whose last use is unknown (listed whatever the time: they may be stale).
 */
function unusedSince(cutoffMs: number): (k: AccessKeyRecord) => boolean {
  return (k) => k.revokedAt === null && (!lastUseKnown(k) || Date.parse(k.lastUsedAt ?? k.createdAt) < cutoffMs);
}

/** LAST USED: a time, `never`, or `unknown` (created before uses were recorded, none recorded since). */
const lastUsedCell = (k: AccessKeyRecord): string => k.lastUsedAt ?? (lastUseKnown(k) ? 'never' : 'unknown');

export function registerKeys(program: Command, now: () => number = Date.now): void {
  const keys = program
    .command('keys')
    .description('create, list and revoke access keys')
    .addHelpText(
      'after',
      '\nExamples:\n  logwarden keys create --tenant 123456789012345678 --scope api:logs:read\n  logwarden keys list --tenant 123456789012345678\n  logwarden keys revoke LWZKHJNASGVDTD2QNUUJIJ\n',
    );

  storeOptions(
    keys
      .command('create')
      .description('create an access key for a tenant; the secret is printed once and stored only as a hash')
      .requiredOption('--tenant <id>', 'the tenant the key belongs to')
      .option('--scope <scope>', 'required: api:logs:read or api:logs:write (short: read, write); repeat for both', collect)
      .option('--json', 'print {"accessKey", "secret", "tenant", "scopes"} as JSON')
      .addHelpText('after', '\nExample:\n  logwarden keys create --tenant 123456789012345678 --scope api:logs:read --scope api:logs:write\n'),
  ).action(async (opts: StoreFlags & { tenant: string; scope?: string[]; json?: boolean }) => {
    const scopes = parseScopes(opts.scope ?? []);
    const config = storeConfigFrom(opts);
    await withExistingStore(config, async (store) => {
      if (!(await store.getTenant(opts.tenant))) throw noTenant(opts.tenant, config);
      const key = await createKeyAct(store, opts.tenant, scopes, cliActor(), now);
      const text = opts.json
        ? jsonOutput(key)
        : `access key: ${key.accessKey}\nsecret:     ${key.secret}\ntenant:     ${key.tenant}\nscopes:     ${key.scopes.join(' ')}\n`;
      try {
        await writeOut(text);
      } catch (err) {
        // A key whose secret nobody received is of use to nobody: it does not stay valid.
        await revokeKeyAct(store, key.accessKey, cliActor(), now);
        throw new CommandError(
          `${(err as Error).message}: the new key ${key.accessKey} was revoked, since its secret could not be shown; run the command again`,
        );
      }
      if (!opts.json) process.stderr.write('Store the secret now: it is not kept and cannot be shown again.\n');
    });
  });

  storeOptions(
    keys
      .command('list')
      .description("list a tenant's access keys (never their secrets) and when each was last used")
      .requiredOption('--tenant <id>', 'the tenant')
      .option(
        '--unused-for <duration>',
        'only the active keys not used within this time (30d, 12w, 24h): a key never used counts once it is older than that; keys whose last use is unknown are always listed',
      )
      .option('--json', 'print as JSON: lastUsed is a time or null; lastUsedKnown is false when null means unknown rather than never')
      .addHelpText(
        'after',
        `
LAST USED is when a request last authenticated with the key: HTTP Basic, getting a token, or a
Bearer token issued to it; a failed attempt does not count. Servers record it within about a
minute (a server killed outright loses its last minute). It reads:
  a time    the last use recorded
  never     not used since the key was created
  unknown   the key was created before the store recorded uses (the upgrade to logwarden's
            schema version 11), and no use has been recorded since: it may have been used
            before. The first recorded use replaces it with a time. (A store that was at
            version 10 cannot tell which of its keys unused by then came after: unknown too.)

--unused-for lists the keys to review: those last used before the time given, those never used
and older than it, and every key whose last use is unknown (shown as unknown, and counted on
standard error), since nothing tells that they are in use.

In --json, each key has "lastUsed" (an ISO time, or null) and "lastUsedKnown": true for a time
or never, false for unknown ("lastUsed": null, "lastUsedKnown": false).

Examples:
  logwarden keys list --tenant 123456789012345678
  logwarden keys list --tenant 123456789012345678 --unused-for 90d        # keys to review and revoke
  logwarden keys list --tenant 123456789012345678 --json | jq -r '.[] | select(.revokedAt == null) | .accessKey'
  logwarden keys list --tenant 123456789012345678 --json | jq -r '.[] | select(.lastUsedKnown | not) | .accessKey'
`,
      ),
  ).action(async (opts: StoreFlags & { tenant: string; unusedFor?: string; json?: boolean }) => {
    const unusedMs = opts.unusedFor === undefined ? undefined : parseDuration(opts.unusedFor, '--unused-for');
    const config = storeConfigFrom(opts);
    await withExistingStore(config, async (store) => {
      if (!(await store.getTenant(opts.tenant))) throw noTenant(opts.tenant, config);
      let list = await store.listAccessKeys(opts.tenant);
      if (unusedMs !== undefined) list = list.filter(unusedSince(now() - unusedMs));
      if (opts.json) {
        printJson(
          list.map((k) => ({
            accessKey: k.accessKey,
            scopes: k.scopes,
            createdAt: k.createdAt,
            revokedAt: k.revokedAt,
            lastUsed: k.lastUsedAt,
            lastUsedKnown: lastUseKnown(k),
          })),
        );
        return;
      }
      printTable(
        ['ACCESS KEY', 'SCOPES', 'CREATED', 'REVOKED', 'LAST USED'],
        list.map((k) => [k.accessKey, k.scopes.join(' '), k.createdAt, k.revokedAt ?? '-', lastUsedCell(k)]),
      );
      if (unusedMs === undefined) return;
      if (list.length === 0) process.stderr.write(`no active key has gone unused for ${opts.unusedFor}\n`);
      const unknown = list.filter((k) => !lastUseKnown(k));
      if (unknown.length > 0) {
        const since = unknown.map((k) => k.usesRecordedSince!).sort()[0];
        process.stderr.write(
          `${unknown.length} of them unknown: created before uses were recorded (from ${since}) and not used since; whether they were used before is not known\n`,
        );
      }
    });
  });

  storeOptions(
    keys
      .command('revoke')
      .description('revoke an access key: its Basic use and every token issued to it stop working at once')
      .argument('<access-key>', 'the access key to revoke')
      .option('--json', 'print {"accessKey", "revoked": true, "alreadyRevoked"} as JSON (alreadyRevoked: it was revoked before this command)')
      .addHelpText('after', '\nExample:\n  logwarden keys revoke LWZKHJNASGVDTD2QNUUJIJ      # the access key from `keys list`, never the secret\n'),
  ).action(async (accessKey: string, opts: StoreFlags & { json?: boolean }) => {
    await withExistingStore(storeConfigFrom(opts), async (store) => {
      const result = await revokeKeyAct(store, accessKey, cliActor(), now);
      // Not repeated when it could be a secret pasted by mistake (secrets hold lower-case letters; access keys do not).
      if (!result)
        throw new CommandError(
          /[a-z]/.test(accessKey) ? 'no such access key (the value given is not repeated: it may be a secret)' : `no access key ${accessKey}`,
        );
      const revoked = result.revoked;
      if (opts.json) printJson({ accessKey, revoked: true, alreadyRevoked: !revoked });
      else process.stdout.write(revoked ? `revoked ${accessKey}\n` : `${accessKey} was already revoked\n`);
    });
  });
}
