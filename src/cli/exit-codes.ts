/** The CLI's exit codes: one table, used by every command. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Stopped by SIGINT/SIGTERM: 128 + SIGINT's number, as shells report a Ctrl-C. */
  interrupted: 130,
} as const;

/** A failure the user caused by how the command was called: printed as one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An expected failure (not a bug): printed as one line without a stack, exit 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** The command was stopped by Ctrl-C (or SIGTERM) after saying how to resume: exit 130. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}
