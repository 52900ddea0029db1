/**
 * Connections a stop meets before their first request.
 *
 * A connection the kernel has completed but the server has not accepted yet (the event loop was
 * busy) is reset when the listening socket closes, though its client saw it connect and may
 * have sent a request on it: a few per stop under load, each client unsure whether its entries
 * were stored. So the listener is closed only once the event loop has gone round and accepted
 * what the kernel held when the stop began.
 *
 * An accepted connection that has not carried a request yet is not idle to Node:
 * `server.close()` leaves it open, and its request is answered like any other (with
 * `Connection: close`, which Fastify adds while closing). But Node stops checking the headers
 * timeout then, so a client that connects and never sends would hold the stop for the whole
 * drain timeout. Such connections are closed when the stop's grace for them is up.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long, at most, a stop waits for the first request of a connection opened before it. */
export const FIRST_REQUEST_GRACE_MS = 5_000;

export class NewConnections {
  /** Accepted connections that have carried no request yet. */
  readonly #unused = new Set<Socket>();
  #grace: NodeJS.Timeout | undefined;

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.#unused.add(socket);
      socket.once('close', () => this.#unused.delete(socket));
    });
    server.on('request', (req: IncomingMessage) => this.#unused.delete(req.socket));
  }

  /**
   * The stop begins, the listener still open: resolves once the connections the kernel holds
   * are accepted, and closes those still unused `graceMs` later.
   */
  async stopping(graceMs: number): Promise<void> {
    // The first turn may be one whose poll for I/O came before the stop; the second's comes after.
    await nextTurn();
    await nextTurn();
    this.#grace = setTimeout(() => {
      for (const socket of this.#unused) socket.destroy();
    }, graceMs);
  }

  /** The server has closed: nothing is left to close. */
  stopped(): void {
    clearTimeout(this.#grace);
  }
}
