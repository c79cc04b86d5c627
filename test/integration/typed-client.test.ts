/**
 * The typed client (client/) is generated from the OpenAPI document the API serves. This is the
 * CI check that it is current: regenerating client/schema.ts from the document this tree's
 * handlers serve must give the checked-in file byte for byte — a route or field added to the API
 * without regenerating (npm run client), or a hand edit of the generated file, fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderClientSchema, SCHEMA_FILE } from '../../scripts/client/render.js';
import { servedDocument } from '../../scripts/client/served-document.js';

describe('the typed client', () => {
  it('is generated from the OpenAPI document the API serves (npm run client regenerates it)', async () => {
    const regenerated = await renderClientSchema(await servedDocument());
    const checkedIn = readFileSync(SCHEMA_FILE, 'utf8');
    // Not toBe on the whole file: a failure names the first line that differs, not 1,600 of them.
    const first = regenerated.split('\n').findIndex((line, i) => line !== checkedIn.split('\n')[i]);
    expect(first === -1 ? null : `line ${first + 1}: ${regenerated.split('\n')[first]}`).toBeNull();
    expect(checkedIn).toBe(regenerated);
  });

  it('fails the comparison when the document has a route the file lacks', async () => {
    const document = (await servedDocument()) as { paths: Record<string, unknown> };
    document.paths['/api/not-yet-in-the-client'] = {
      get: { operationId: 'notYetInTheClient', responses: { '204': { description: 'Nothing' } } },
    };
    expect(await renderClientSchema(document)).not.toBe(readFileSync(SCHEMA_FILE, 'utf8'));
  });
});
