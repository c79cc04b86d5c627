/**
 * Discovery and the collection route as IIS Administration clients meet them (issue 20), in
 * process with no host enrolled (a change then succeeds at once): `GET /api` and
 * `GET /api/webserver/` lead to the default ccs-id, which CCS_DEFAULT_ID chooses; the collection
 * route answers with that resource or the seed's 404, and POST on it enables it; the fleet list
 * is `GET /api/ccs-ids`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { IisAdminClient } from '../support/iis-admin-client.js';
import { ApiRootSchema, WebServerSchema } from '../../functions/openapi/discovery-schemas.js';
import { CentralizedCertificatesListSchema } from '../../functions/openapi/response-schemas.js';

const DEFAULT_ID = 'fleet-a';
const SEED_404 =
  '{"title":"Not found","detail":"IIS feature not installed","name":"IIS Central Certificate Store","status":404}';
const COLLECTION = '/webserver/centralized-certificates';
const enableBody = {
  path: '\\\\fileserver\\ccs',
  identity: { username: 'CONTOSO\\ccs-reader', password: 'discovery-Pa55' },
  private_key_password: 'discovery-key',
};

let api: ApiHarness;
let client: IisAdminClient;

beforeAll(async () => {
  api = await startApiHarness({ env: { CCS_DEFAULT_ID: DEFAULT_ID } });
  client = new IisAdminClient(api.url, api.readToken);
});
afterAll(async () => {
  await api?.close();
});

describe('discovery from GET /api', () => {
  it('answers the root at /api and /api/ with links every one of which answers', async () => {
    const root = ApiRootSchema.parse(await readJson(await api.request('GET', '')));
    expect(await readJson(await api.request('GET', '/'))).toEqual(root);
    expect(root.default_ccs_id).toBe(DEFAULT_ID);
    expect(root._links.webserver.href).toBe('/api/webserver');
    const writer = new IisAdminClient(api.url, api.writeToken);
    for (const [name, link] of Object.entries(root._links)) {
      if ('templated' in link) continue;
      const res = await writer.send('GET', writer.link(root, name));
      expect(res.status, name).toBe(200);
    }
  });

  it('leads from the web server to the default ccs-id and to the certificates, with or without a trailing slash', async () => {
    const webserver = await client.followLink(await client.root(), 'webserver');
    const parsed = WebServerSchema.parse(webserver);
    expect(parsed._links.central_certificates.href).toBe(`/api${COLLECTION}/${DEFAULT_ID}`);
    expect(parsed._links.certificates.href).toBe('/api/certificates');
    expect(await readJson(await api.request('GET', '/webserver/'))).toEqual(webserver);
  });

  it('authenticates like every route', async () => {
    for (const path of ['', '/', '/webserver', '/webserver/', COLLECTION, '/ccs-ids']) {
      const res = await api.request('GET', path, { token: null });
      expect(res.status, path).toBe(401);
      expect((await readJson(res)).name, path).toBe('Access-Token');
    }
  });
});

describe('the collection route, for clients that send no id', () => {
  it('is documented in the OpenAPI document with the Location header of its GET and POST', async () => {
    type Doc = { paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>> };
    const doc = (await readJson(await api.request('GET', '/openapi.json'))) as Doc;
    for (const path of ['/api', '/api/webserver', '/api/ccs-ids'])
      expect(doc.paths[path]?.get, path).toBeDefined();
    const collection = doc.paths[`/api${COLLECTION}`]!;
    expect(Object.keys(collection).sort()).toEqual(['get', 'post']);
    for (const method of ['get', 'post']) {
      expect(collection[method]?.responses['200']?.headers, method).toHaveProperty('Location');
    }
  });

  it('answers the seed 404 while the default ccs-id is not enabled, trailing slash or not', async () => {
    for (const path of [COLLECTION, `${COLLECTION}/`]) {
      const res = await api.request('GET', path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).toBe(SEED_404);
    }
  });

  it('enables the default ccs-id on POST, then answers its resource with Location naming its URL', async () => {
    // With the trailing slash, as IIS's web manager sends it (IIS.WebManager central-certificate.service.ts).
    const posted = await api.request('POST', `${COLLECTION}/`, {
      body: enableBody,
      headers: { Prefer: 'wait=5' },
    });
    expect(posted.status).toBe(200);
    expect(posted.headers.get('location')).toBe(`/api${COLLECTION}/${DEFAULT_ID}`);
    expect(await readJson(posted)).toMatchObject({ id: DEFAULT_ID, path: enableBody.path });

    const res = await api.request('GET', COLLECTION);
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBe(`/api${COLLECTION}/${DEFAULT_ID}`);
    const byId = await api.request('GET', `${COLLECTION}/${DEFAULT_ID}`);
    expect(byId.headers.get('location')).toBeNull();
    const body = await readJson(res);
    expect(body).toEqual(await readJson(byId));
    expect(body._links.self.href).toBe(`/api${COLLECTION}/${DEFAULT_ID}`);
    expect(res.headers.get('etag')).toBe(byId.headers.get('etag'));
  });

  it('refuses a second POST as the {id} route does (409 id: use PATCH)', async () => {
    const res = await api.request('POST', COLLECTION, { body: enableBody });
    expect(res.status).toBe(409);
    expect((await readJson(res)).name).toBe('id');
  });

  it('takes back, on PATCH through the link, the model a GET of the link gave, with a field changed', async () => {
    const writer = new IisAdminClient(api.url, api.writeToken, { Prefer: 'wait=5' });
    const link = writer.link(
      (await writer.followLink(await writer.root(), 'webserver'))!,
      'central_certificates',
    );
    const model = (await writer.get(link))!;
    const res = await writer.send('PATCH', link, { ...model, path: 'C:\\certs' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ id: DEFAULT_ID, path: 'C:\\certs' });
    expect(await writer.get(link)).toMatchObject({ path: 'C:\\certs' });
  });

  it('keeps the list of every enabled ccs-id at /api/ccs-ids', async () => {
    await api.request('POST', `${COLLECTION}/other-fleet`, {
      body: enableBody,
      headers: { Prefer: 'wait=5' },
    });
    const list = CentralizedCertificatesListSchema.parse(
      await readJson(await api.request('GET', '/ccs-ids')),
    );
    expect(list['centralized-certificates'].map((c) => c.id).sort()).toEqual([DEFAULT_ID, 'other-fleet']);
  });

  it('disables through the link the web server gives (204), after which the collection is 404 again', async () => {
    const webserver = (await client.followLink(await client.root(), 'webserver'))!;
    const writer = new IisAdminClient(api.url, api.writeToken, { Prefer: 'wait=5' });
    expect(await writer.delete(writer.link(webserver, 'central_certificates'))).toBe(true);
    expect(await (await api.request('GET', COLLECTION)).text()).toBe(SEED_404);
  });
});

describe('odd input on the discovery and collection routes: a clear 4xx, never a 5xx, nothing changed', () => {
  /** What a refused request must leave as it was: the fleet list, the collection, the audit log. */
  async function snapshot() {
    return {
      list: await readJson(await api.request('GET', '/ccs-ids')),
      collection: await (await api.request('GET', COLLECTION)).text(),
      audit: await readJson(await api.request('GET', '/audit')),
    };
  }

  it('refuses a bad enable body on the collection naming the field, as on the {id} route', async () => {
    const before = await snapshot();
    const cases: [unknown, string][] = [
      [{}, 'path'],
      [{ path: enableBody.path }, 'identity'],
      [{ ...enableBody, identity: { username: enableBody.identity.username } }, 'identity.password'],
      [{ ...enableBody, identity: { password: 'x' } }, 'identity.username'],
      [{ ...enableBody, physical_path: 'C:\\certs' }, 'physical_path'],
      [[enableBody], 'body'],
      ['{"path": ', 'body'],
    ];
    for (const [body, name] of cases) {
      const res = await api.request('POST', COLLECTION, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await readJson(res)).name, JSON.stringify(body)).toBe(name);
    }
    const plain = await api.request('POST', COLLECTION, {
      body: JSON.stringify(enableBody),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(plain.status).toBe(415);
    expect(await snapshot()).toEqual(before);
  });

  it('answers a trailing slash on the {id} route as without, and refuses an id that is not a ccs-id', async () => {
    const id = 'other-fleet';
    const plain = await api.request('GET', `${COLLECTION}/${id}`);
    const slashed = await api.request('GET', `${COLLECTION}/${id}/`);
    expect(slashed.status).toBe(200);
    expect(await readJson(slashed)).toEqual(await readJson(plain));
    for (const bad of ['Other-Fleet', 'a--b', '-a', 'x'.repeat(33), '%E2%80%AE', 'a.b', 'a%2Fb']) {
      const res = await api.request('GET', `${COLLECTION}/${bad}`);
      expect(res.status, bad).toBe(400);
      expect((await readJson(res)).name, bad).toBe('id');
    }
  });

  it('answers 404 or 405 for what is not a route, PATCH and DELETE on the collection included', async () => {
    const before = await snapshot();
    const cases: [string, string][] = [
      ['GET', '//'],
      ['GET', '/webserver//'],
      ['GET', '/webserver/x'],
      ['GET', '/webserver/default'],
      ['GET', `${COLLECTION}//`],
      ['GET', '/ccs-ids/x'],
      ['PATCH', COLLECTION],
      ['DELETE', COLLECTION],
      ['DELETE', `${COLLECTION}/`],
      ['POST', ''],
      ['PUT', '/webserver'],
    ];
    for (const [method, path] of cases) {
      const res = await api.request(method, path, method === 'PATCH' ? { body: { path: 'C:\\certs' } } : {});
      expect([404, 405], `${method} ${path}`).toContain(res.status);
    }
    expect(await snapshot()).toEqual(before);
  });
});
