/**
 * The API reference: `/openapi.json` generated from the route schemas, and `/docs`, the
 * interactive page, titled with this server's version. "Try it out" on `GET /v2/logs` works with
 * what it fills in: `logType` is a list of the configured types and `fromDateTime` is 30 days
 * before the day the server started, so Execute answers 200 (or Gong's 404 on an empty range).
 * `/` leads to the console (`/console`), which the docs' description links to.
 *
 * Behind a reverse proxy that serves the server under a path prefix (`/audit/`), every address
 * these pages give is relative: the redirects, the console link, and the document's server
 * (`.` in `/openapi.json`, `..` in `/docs/json`, the copy the page reads), which is where
 * "Try it out" sends its requests.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { LogTypes } from '../logs/log-types.ts';
import { VERSION } from '../version.ts';
import { pageSizePattern } from './schemas.ts';

/**
 * The content security policy of `/docs`: the strict one the UI plugin derives (scripts from the
 * server only), with two changes. The UI sets inline styles as it renders; and "Try it out"
 * must reach a server run over plain HTTP, which upgrade-insecure-requests would send to https.
 */
function docsPolicy(header: string): string {
  return header.replace(/style-src 'self' https:/, "style-src 'self' https: 'unsafe-inline'").replace(/\s*upgrade-insecure-requests;?/, '');
}

const DESCRIPTION =
  'Audit-log server speaking the wire contract of Gong\'s "List logs" API (GET /v2/logs), plus ingest and OAuth 2.0 client credentials. ' +
  'Browse the logs in the ';

/** Midnight UTC 30 days before `now`: a lower bound that finds the last month's entries. */
export function exampleFrom(now: Date): string {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(day - 30 * 86_400_000).toISOString().replace('.000Z', 'Z');
}

interface QuerySchema {
  properties: Record<string, Record<string, unknown>>;
}

/** What the reference says of this deployment's page sizes. */
interface PageSizes {
  readonly pageSize: number;
  readonly maxPageSize: number;
}

/**
 * The list-logs query as the page shows it: the rules the route's schema keeps in `allOf`
 * (the configured types, the page-size range) are shown on the parameters themselves, as the
 * OpenAPI parameter list has no place for `allOf`. Validation keeps using the route's schema.
 */
function documentedListQuery(schema: FastifySchema, types: LogTypes, sizes: PageSizes, from: string): FastifySchema {
  const query = schema.querystring as QuerySchema | undefined;
  if (!query?.properties?.logType || !query.properties.fromDateTime) return schema;
  return {
    ...schema,
    querystring: {
      ...query,
      properties: {
        ...query.properties,
        logType: { ...query.properties.logType, enum: [...types.names], examples: [types.names[0]] },
        fromDateTime: { ...query.properties.fromDateTime, examples: [from] },
        ...(query.properties.limit && {
          limit: {
            ...query.properties.limit,
            pattern: pageSizePattern(sizes.maxPageSize),
            description: `Extension: page size, an integer from 1 to ${sizes.maxPageSize} (default ${sizes.pageSize}).`,
          },
        }),
      },
    },
  };
}

/**
 * The tile route's trailing wildcard (`…/tile/*`) as a named path parameter (`…/tile/{tilePath}`):
 * OpenAPI names every path parameter, and `{*}` is no name.
 */
function namedTilePath(schema: FastifySchema, url: string): { schema: FastifySchema; url: string } {
  const params = schema.params as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  const wildcard = params?.properties?.['*'];
  if (!params?.properties || wildcard === undefined) return { schema, url };
  const { '*': _, ...rest } = params.properties;
  return {
    schema: {
      ...schema,
      params: {
        ...params,
        properties: { ...rest, tilePath: wildcard },
        required: [...(params.required ?? []).filter((r) => r !== '*'), 'tilePath'],
      },
    },
    url: `${url.slice(0, -1)}:tilePath`,
  };
}

export async function registerDocs(app: FastifyInstance, options: { types: LogTypes; pageSizes: PageSizes; now?: Date }): Promise<void> {
  const from = exampleFrom(options.now ?? new Date());
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'logwarden',
        version: VERSION,
        description: `${DESCRIPTION}[console](console).`,
      },
      servers: [{ url: '.', description: 'this server (relative to the address of this document)' }],
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'access key : secret' },
          bearer: { type: 'http', scheme: 'bearer', description: 'token from POST /oauth2/token' },
        },
      },
    },
    // Route paths are kept whole: the server's URL is relative, no base path to take off them.
    stripBasePath: false,
    transform: ({ schema, url, route }) => {
      if (url === '/v2/logs' && route.method === 'GET' && schema)
        return { schema: documentedListQuery(schema, options.types, options.pageSizes, from), url };
      if (url.endsWith('/*') && schema) return namedTilePath(schema, url);
      return { schema, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: docsPolicy,
    theme: { title: `logwarden ${VERSION}` },
    // The page reads the document from `/docs/json`, one level down.
    transformSpecification: (doc) => ({
      ...doc,
      info: { ...doc.info, description: `${DESCRIPTION}[console](../console).` },
      servers: [{ url: '..', description: 'this server' }],
    }),
  });
  // Asked for without its trailing slash, or with a query (which the page does not read), the
  // page would name its assets from the root (`/docs/static/…`), outside a prefix a proxy adds.
  app.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    if (url === '/docs' || url.startsWith('/docs?')) return void reply.redirect('docs/', 302);
    if (url.startsWith('/docs/?')) return void reply.redirect('./', 302);
    done();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The page a browser opening the server's address should land on.
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('console', 302));
}
