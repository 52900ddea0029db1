/** The CLI's exit codes and its typed failures; each failure's exit code comes from the table in ../errors.ts. */
import { CodedError } from '../errors.ts';

export { EXIT } from '../errors.ts';

/** A failure the user caused by how the command was called: printed as one line, exit 2. */
export class UsageError extends CodedError {
  override readonly code = 'usage';
  override name = 'UsageError';
}

/** An expected failure (not a bug): printed as one line without a stack, exit 1. */
export class CommandError extends CodedError {
  override readonly code = 'command_failed';
  override name = 'CommandError';
}

/** The command was stopped by Ctrl-C (or SIGTERM) after saying how to resume: exit 130. */
export class InterruptedError extends CodedError {
  override readonly code = 'interrupted';
  override name = 'InterruptedError';
}
