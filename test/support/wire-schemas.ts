/**
 * Checks answers against the API reference the app generates (`/openapi.json`): every JSON
 * answer of a documented route must match the schema documented for its status, and a status
 * the reference does not list is a failure. So the reference cannot drift from the wire.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
type OpenApi = { paths: Record<string, Record<string, Operation>> };

export class WireSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<object, ValidateFunction>();
  private readonly paths: OpenApi['paths'];

  constructor(app: FastifyInstance) {
    this.paths = (app.swagger() as unknown as OpenApi).paths;
  }

  /** Throws when `res`, the answer to `method url`, is not what the reference documents. */
  check(method: string, url: string, res: LightMyRequestResponse): void {
    const path = url.split('?')[0] ?? url;
    const operation = this.paths[path]?.[method.toLowerCase()];
    if (!operation) return; // not a documented route (the console, an unknown path)
    const where = `${method} ${path} → ${res.statusCode}`;
    const documented = operation.responses?.[String(res.statusCode)] ?? operation.responses?.default;
    if (!documented) throw new Error(`${where}: the API reference does not list this status`);
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/json')) return;
    const schema = documented.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${where}: a JSON answer, but the API reference documents no JSON body`);
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.compiled.set(schema, validate);
    }
    if (!validate(JSON.parse(res.body))) {
      throw new Error(`${where}: the answer does not match the API reference: ${this.ajv.errorsText(validate.errors)}\n${res.body.slice(0, 500)}`);
    }
  }
}
