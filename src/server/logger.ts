/** The server's structured log: pino, credentials redacted, never an audit payload. */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'access_token',
  '*.access_token',
];

/**
 * Without a destination, lines go to stdout asynchronously: a request never waits for the
 * write, and lines that pile up under load go out in one write. `flush()` on stop.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'logwarden', pid: process.pid } },
    (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }),
  );
}
