/**
 * The methods each route path answers, so that a request for a path that exists, with a method
 * it does not answer, is told 405 with `Allow` (RFC 9110 §15.5.6) instead of the 404 of a path
 * that does not exist. Routes are noted as the app registers them, in a router of their own
 * (find-my-way, Fastify's), which matches a concrete path to its pattern as Fastify does.
 */
import type { FastifyInstance } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const satisfies readonly HTTPMethod[];

export class RouteMethods {
  private readonly router = FindMyWay();
  private readonly noted = new Set<string>();

  /** Notes every route the app registers from now on (call before the routes are added). */
  watch(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        const key = `${method} ${route.url}`;
        if (this.noted.has(key) || !(METHODS as readonly string[]).includes(method)) continue;
        this.noted.add(key);
        this.router.on(method as HTTPMethod, route.url, () => {});
      }
    });
  }

  /** The methods `path` answers, in a fixed order (none: no route has this path). */
  allowed(path: string): string[] {
    return METHODS.filter((m) => this.router.find(m, path) !== null);
  }
}
