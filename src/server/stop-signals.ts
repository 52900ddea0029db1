/**
 * Calls `stop` on the first SIGTERM or SIGINT and goes on listening, so that a signal repeated
 * while the process stops is ignored instead of ending it mid-stop (Node's default for a signal
 * no one listens to). Repeats are common: `npm start` passes a Ctrl-C on to the server, which
 * the terminal has already sent it; a supervisor stopping a whole process group (systemd's
 * default) signals each worker, which the primary then signals again. A stop is bounded by the
 * drain timeout; SIGKILL ends a process at once.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
