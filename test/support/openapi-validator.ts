/**
 * Every response the integration and end-to-end tests receive is checked against the OpenAPI
 * document's schema for its route, method and status (Ajv, JSON Schema 2020-12), so a field
 * added to a view but not to the schema — or the reverse, or an undocumented status — fails the
 * test that saw it. Requests to paths the API does not route (the local host's own 404/405) are
 * not API responses and are not checked.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import '../../functions/index.js';
import { buildOpenApiDocument } from '../../functions/openapi/document.js';
import { matchRoute, routePath } from '../../functions/route-table.js';

interface Operation {
  responses: Record<string, { content?: Record<string, unknown> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

let shared: ResponseValidator | undefined;

export class ResponseValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly document: Document) {
    this.ajv.addSchema(document, 'openapi.json');
  }

  /** One validator per test process, over the document the API serves. */
  static get(): ResponseValidator {
    shared ??= new ResponseValidator(buildOpenApiDocument() as unknown as Document);
    return shared;
  }

  /** Throws, naming the route, the status and what is wrong, unless the response is documented. */
  check(method: string, url: string, status: number, body: string): void {
    const path = routePath(new URL(url, 'http://localhost').pathname);
    const template = Object.keys(this.document.paths).find((t) => {
      const documented = routePath(t);
      return path !== null && documented !== null && matchRoute(documented, path) !== null;
    });
    const verb = method.toLowerCase();
    const operation = template === undefined ? undefined : this.document.paths[template]?.[verb];
    if (template === undefined || operation === undefined) return;
    const response = operation.responses[String(status)];
    const what = `${method} ${template} → ${status}`;
    if (!response) throw new Error(`${what} is not in the OpenAPI document: ${body.slice(0, 300)}`);
    if (!response.content || verb === 'head') return;
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new Error(`${what}: the body is not JSON: ${body.slice(0, 300)}`);
    }
    const validate = this.schemaOf(template, verb, String(status));
    if (!validate(json)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
      throw new Error(`${what} does not match the OpenAPI document: ${errors.join('; ')}`);
    }
  }

  private schemaOf(template: string, verb: string, status: string): ValidateFunction {
    const ref = `openapi.json#/${pointer('paths', template, verb, 'responses', status, 'content', 'application/json', 'schema')}`;
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    return validate;
  }
}

/** `fetch`, with the response checked against the document (its body stays readable). */
export async function checkedFetch(url: string, init: RequestInit & { method: string }): Promise<Response> {
  const response = await fetch(url, init);
  ResponseValidator.get().check(init.method, url, response.status, await response.clone().text());
  return response;
}
