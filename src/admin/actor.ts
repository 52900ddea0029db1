/**
 * Who performed an administrative act, as the admin trail names them: an operator at the
 * command line (OS user and host), the server itself (first start, demo set-up, purge runs), or
 * an access key.
 */
import { hostname, userInfo } from 'node:os';

export type Actor =
  | { readonly kind: 'cli'; readonly user: string; readonly host: string }
  | { readonly kind: 'server' }
  | { readonly kind: 'key'; readonly accessKey: string };

export const SERVER_ACTOR: Actor = Object.freeze({ kind: 'server' });

/** The operator running this command: the OS account and the machine's name. */
export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (common in containers) still has a number.
    user = typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'unknown user';
  }
  return { kind: 'cli', user, host: hostname() };
}

/** The actor in one phrase: "alice@build-7", "logwarden server", "access key LW…". */
export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'cli':
      return `${actor.user}@${actor.host}`;
    case 'server':
      return 'logwarden server';
    case 'key':
      return `access key ${actor.accessKey}`;
  }
}
