import { describe, expect, it } from 'vitest';
import { httpRoutes } from '../../functions/index.js';
import { buildOpenApiDocument } from '../../functions/openapi/document.js';

describe('the OpenAPI document', () => {
  const doc = buildOpenApiDocument() as {
    openapi: string;
    paths: Record<string, Record<string, { operationId: string }>>;
  };

  it('is OpenAPI 3.1', () => expect(doc.openapi).toBe('3.1.0'));

  it('describes exactly the routes that exist, method by method', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const routed = httpRoutes.flatMap((r) => r.methods.map((m) => `${m} /api/${r.route}`));
    expect(documented.sort()).toEqual(routed.sort());
  });

  it('uses the route names as operation ids', () => {
    const ids = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods).map((o) => o.operationId),
    );
    expect(new Set(ids)).toEqual(new Set(httpRoutes.map((r) => r.name)));
  });

  it('documents the request bodies from the validation schemas', () => {
    const post = doc.paths['/api/webserver/centralized-certificates/{ccsId}']?.post as unknown as {
      requestBody: {
        content: {
          'application/json': { schema: { required: string[]; properties: Record<string, unknown> } };
        };
      };
    };
    const schema = post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['path', 'identity']));
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['path', 'identity', 'private_key_password']),
    );
  });
});
