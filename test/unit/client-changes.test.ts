/**
 * What the typed client's change helpers put on the wire (client/changes.ts), seen through the
 * client's `fetch` option: the route, `If-Match`, and `?force=true` only when asked for.
 */
import { describe, expect, it } from 'vitest';
import { createCcsClient } from '../../client/index.js';
import { disable, enable, update } from '../../client/changes.js';

function recordingClient() {
  const sent: { method: string; url: string; ifMatch: string | null; auth: string | null }[] = [];
  const client = createCcsClient({
    api: 'https://ccs.example/api',
    token: () => 'the-token',
    fetch: (request) => {
      sent.push({
        method: request.method,
        url: request.url,
        ifMatch: request.headers.get('If-Match'),
        auth: request.headers.get('Authorization'),
      });
      return Promise.resolve(
        new Response(JSON.stringify({ id: 'op-1', kind: 'enable' }), {
          status: 202,
          headers: { 'Content-Type': 'application/json', 'Operation-Location': '/api/operations/op-1' },
        }),
      );
    },
  });
  return { client, sent };
}

describe('the change helpers of the typed client', () => {
  it('send to the resource with the bearer token, If-Match when given, ?force=true only when forced', async () => {
    const { client, sent } = recordingClient();
    const body = { path: '\\\\fs\\ccs', identity: { username: 'u', password: 'p' } };
    expect(await enable(client, 'default', body)).toEqual({ kind: 'accepted', operationId: 'op-1' });
    await update(client, 'default', { path: '\\\\fs2\\ccs' }, '"etag-1"');
    await disable(client, 'default', '"etag-2"', true);
    expect(sent).toEqual([
      {
        method: 'POST',
        url: 'https://ccs.example/api/webserver/centralized-certificates/default',
        ifMatch: null,
        auth: 'Bearer the-token',
      },
      {
        method: 'PATCH',
        url: 'https://ccs.example/api/webserver/centralized-certificates/default',
        ifMatch: '"etag-1"',
        auth: 'Bearer the-token',
      },
      {
        method: 'DELETE',
        url: 'https://ccs.example/api/webserver/centralized-certificates/default?force=true',
        ifMatch: '"etag-2"',
        auth: 'Bearer the-token',
      },
    ]);
  });
});
