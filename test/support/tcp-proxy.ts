/**
 * A TCP proxy on a loopback port in front of a server (PostgreSQL), standing in for the network
 * between: it forwards bytes both ways until told to drop the network (`blackhole`: nothing more
 * is forwarded, no socket is closed, new connections are accepted and left unanswered, as a
 * network dropping packets does), to bring it back (`restore`), or to reset every connection
 * through it (`reset`).
 *
 * What a connection sent while the network was dropped is delivered when it returns (TCP sends
 * it again), its close included; `restore({ lost: true })` instead models a network back only
 * after the peers' retries gave up: the connections that were open stay silent for good (the
 * server never hears from their client again), and new ones are forwarded.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Link {
  readonly client: Socket;
  upstream: Socket | null;
  /** Bytes (and a close: null) held back while the network is dropped, each way. */
  readonly toServer: Array<Buffer | null>;
  readonly toClient: Array<Buffer | null>;
  /** Left silent for good (see restore). */
  lost: boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  blackhole(): void;
  restore(options?: { lost?: boolean }): void;
  /** Resets every connection through the proxy (both sides see ECONNRESET). */
  reset(): void;
  /** Connections open through the proxy. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  /** Server sides of connections left silent for good (see restore), destroyed by close. */
  const silent = new Set<Socket>();
  let dropped = false;

  const send = (link: Link, toServer: boolean, data: Buffer | null) => {
    const queue = toServer ? link.toServer : link.toClient;
    const socket = toServer ? link.upstream : link.client;
    if (dropped || link.lost || socket === null || socket.connecting || queue.length > 0) {
      if (!link.lost) queue.push(data);
      return;
    }
    if (data === null) socket.end();
    else socket.write(data);
  };
  const flush = (link: Link) => {
    for (const [queue, socket] of [
      [link.toServer, link.upstream],
      [link.toClient, link.client],
    ] as const) {
      if (socket === null || socket.connecting) continue;
      for (const data of queue.splice(0)) {
        if (data === null) socket.end();
        else socket.write(data);
      }
    }
  };
  const connectUpstream = (link: Link) => {
    const upstream = createConnection(target);
    link.upstream = upstream;
    upstream.on('connect', () => {
      if (!dropped && !link.lost) flush(link);
    });
    upstream.on('data', (d: Buffer) => send(link, false, d));
    upstream.on('end', () => send(link, false, null));
    upstream.on('error', () => link.client.destroy());
    upstream.on('close', () => {
      if (!dropped && !link.lost) link.client.destroy();
    });
  };

  const server: Server = createServer((client) => {
    const link: Link = { client, upstream: null, toServer: [], toClient: [], lost: false };
    links.add(link);
    client.on('data', (d: Buffer) => send(link, true, d));
    client.on('end', () => send(link, true, null));
    client.on('error', () => link.upstream?.destroy());
    client.on('close', () => {
      if (!dropped && !link.lost) link.upstream?.destroy();
      links.delete(link);
    });
    // A connection made while the network is dropped reaches the server once it returns.
    if (!dropped) connectUpstream(link);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get open() {
      return links.size;
    },
    blackhole() {
      dropped = true;
    },
    restore(options = {}) {
      dropped = false;
      for (const link of links) {
        if (link.lost) continue;
        if (options.lost && link.upstream !== null) {
          link.lost = true;
          link.toServer.length = 0;
          link.toClient.length = 0;
          silent.add(link.upstream);
          // The client gives up on its side; the server's side stays open and silent.
          link.client.destroy();
          continue;
        }
        if (link.upstream === null) connectUpstream(link);
        else flush(link);
      }
    },
    reset() {
      for (const link of links) {
        link.client.resetAndDestroy();
        link.upstream?.resetAndDestroy();
      }
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream?.destroy();
      }
      for (const socket of silent) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
