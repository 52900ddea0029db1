/**
 * What `fetch` and `sync` share: the flags that name a remote Gong-compatible source and its
 * credentials, and the SDK client built from them.
 */
import { type Command, Option } from 'commander';
import { GONG_RETENTION_DAYS } from '../admin/gong-retention.ts';
import type { LogsApiError } from '../client/errors.ts';
import { LogsClient } from '../client/index.ts';
import type { Config } from '../config.ts';
import { intFlag } from './common.ts';
import { UsageError } from './exit-codes.ts';

export interface RemoteFlags {
  url: string;
  accessKey?: string;
  secret?: string;
  token?: string;
  rate?: string;
  pageSize?: string;
  maxWait?: string;
}

export function remoteOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--url <url>', "base URL of the source: https://api.gong.io, your company's Gong API host, or a logwarden server")
    .addOption(new Option('--access-key <key>', 'access key of the source [env: LOGWARDEN_ACCESS_KEY]'))
    .addOption(
      new Option('--secret <secret>', 'its secret; prefer the environment, command lines are visible to other users [env: LOGWARDEN_SECRET]'),
    )
    .addOption(new Option('--token <token>', 'a bearer token instead of the access key and secret'))
    .addOption(new Option('--rate <n>', "requests per second at most, to stay under the source's limit (0: unpaced)").default('3'))
    .addOption(
      new Option('--page-size <n>', 'entries per page, 1-1000 (a logwarden extension; Gong ignores it); default 1000 from a source that is not Gong'),
    )
    .addOption(new Option('--max-wait <seconds>', 'longest Retry-After to wait out before failing').default('900'));
}

/**
 * Refuses a --url that names an endpoint rather than the server (…/v2/logs, …/v2/tlog/…): the
 * client adds the API's paths itself, and the server would answer a doubled path with a 404.
 */
export function checkBaseUrl(url: string): void {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return; // the client says what is wrong with it
  }
  const api = /\/v2(\/.*)?$/.exec(path);
  if (api) {
    const base = url.slice(0, url.indexOf(api[0], url.indexOf('//') + 2)) || url;
    throw new UsageError(
      `--url is the server's base URL, without the API's path: give ${JSON.stringify(base.endsWith('/') ? base : `${base}/`)} (not ${JSON.stringify(url)})`,
    );
  }
}

/**
 * What a user at a terminal is told while a request is retried after a network error, a
 * timeout or a server error, so that a wait does not look like a hang; nothing for a rate
 * limit's wait (ordinary pacing).
 */
export function retryNotice({ attempt, delayMs, error }: { attempt: number; delayMs: number; error: LogsApiError }): string | undefined {
  if (error.code === 'rate_limited') return undefined;
  return `logwarden: ${error.message}; retrying in ${Math.max(1, Math.round(delayMs / 1000))} s (retry ${attempt})\n`;
}

/** `--rate`: requests per second at most (default 3; 0: unpaced). */
export function rateFlag(value: string | undefined): number {
  const rate = Number(value ?? '3');
  if (!(rate >= 0) || !Number.isFinite(rate)) throw new UsageError(`--rate must be a number of requests per second (got ${JSON.stringify(value)})`);
  return rate;
}

/** At a terminal only: a script's stderr (a cron job's mail) stays quiet about retries that succeed. */
export function sayRetrying(retry: { attempt: number; delayMs: number; error: LogsApiError }): void {
  const notice = process.stderr.isTTY ? retryNotice(retry) : undefined;
  if (notice) process.stderr.write(notice);
}

/** Flags win over the environment (the config); Basic credentials unless a token is given. */
export function clientFrom(flags: RemoteFlags, config: Pick<Config, 'accessKey' | 'secret'>): LogsClient {
  const rate = rateFlag(flags.rate);
  const maxWait = intFlag('--max-wait', flags.maxWait, 0, 7 * 86_400) ?? 900;
  checkBaseUrl(flags.url);
  const common = {
    baseUrl: flags.url,
    requestsPerSecond: rate,
    retry: { maxRetryAfterMs: maxWait * 1000, onRetry: sayRetrying },
  };
  try {
    if (flags.token !== undefined) {
      // Two sets of credentials given on the command line: which one was meant is not guessed.
      if (flags.accessKey !== undefined || flags.secret !== undefined) throw new UsageError('give --token, or --access-key and --secret, not both');
      if (flags.token.trim() === '') throw new UsageError('--token is empty');
      return new LogsClient({ ...common, token: flags.token });
    }
    const accessKey = flags.accessKey ?? config.accessKey;
    const secret = flags.secret ?? config.secret;
    if (accessKey === '' || secret === '') throw new UsageError(`${accessKey === '' ? '--access-key' : '--secret'} is empty`);
    if (accessKey === null || accessKey === undefined || secret === null || secret === undefined) {
      throw new UsageError('credentials missing: give --access-key and --secret (or set LOGWARDEN_ACCESS_KEY and LOGWARDEN_SECRET), or --token');
    }
    return new LogsClient({ ...common, accessKey, secret });
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(`--url: ${err.message}`);
    throw err;
  }
}

export function pageSizeFrom(flags: RemoteFlags): number | undefined {
  return intFlag('--page-size', flags.pageSize, 1, 1000);
}

/**
 * The page size to ask for: --page-size, else 1000 from a source that is not Gong. Gong pages by
 * 100 whatever is asked; logwarden (or another server with the `limit` extension) serves up to
 * 1000, so under the same 3 requests a second an export or a mirror moves ten times as much.
 * Servers without the extension ignore it.
 */
export function pageSizeFor(flags: RemoteFlags, baseUrl: string): number | undefined {
  return pageSizeFrom(flags) ?? (isGong(baseUrl) ? undefined : 1000);
}

/**
 * How long the source keeps a type's entries, in ms, where it is known to delete them: Gong
 * keeps AccessLog 14 days (GONG_RETENTION_DAYS); undefined for another source or type.
 */
export function sourceRetentionOf(baseUrl: string): (logType: string) => number | undefined {
  const gong = isGong(baseUrl);
  return (logType) => {
    const days = gong ? GONG_RETENTION_DAYS[logType] : undefined;
    return days === undefined ? undefined : days * 86_400_000;
  };
}

/** Whether a base URL is Gong's own API (api.gong.io or a company host like us-12345.api.gong.io). */
export function isGong(baseUrl: string): boolean {
  try {
    const host = new URL(baseUrl).hostname.toLowerCase();
    return host === 'gong.io' || host.endsWith('.gong.io');
  } catch {
    return false;
  }
}
