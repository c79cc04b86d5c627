/**
 * The authorization matrix: every route of the route table (so an endpoint added later is
 * covered without touching this file) × every kind of caller — no credentials, a bad key, an
 * expired Entra token, a token for another audience, a token without an app role, and read and
 * write callers by access token and by Entra token. The requests are built so that a caller who
 * gets past authorization is still refused on input (no body, a stale If-Match): the matrix
 * changes nothing, which the state snapshot around it proves.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes } from '../../functions/index.js';
import { documentedPath, ROUTE_PREFIX } from '../../functions/route-table.js';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { recordFigures } from './support/results.js';
import { diffState, StateProbe } from './support/state.js';

const TENANT = randomUUID();
const AUDIENCE = 'api://ccs-fleet';
// A v1.0 access token: the v1 issuer pairs with the App ID URI audience (shared/auth/entra.ts).
const ISSUER = `https://sts.windows.net/${TENANT}/`;
const KID = 'matrix-key';
const OID = randomUUID();
const ENABLED = 'authz';

let api: ApiHarness;
let probe: StateProbe;
let jwks: Server;
let signingKey: CryptoKey;
let operationId = '';
let cells = 0;

const now = () => Math.floor(Date.now() / 1000);

async function entraToken(o: { roles?: string[]; aud?: string; exp?: number } = {}): Promise<string> {
  const claims: JWTPayload = {
    tid: TENANT,
    ver: '1.0',
    oid: OID,
    appid: randomUUID(),
    roles: o.roles ?? [],
    preferred_username: 'matrix@contoso.com',
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: KID })
    .setIssuer(ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuedAt(now() - 7200)
    .setNotBefore(now() - 7200)
    .setExpirationTime(o.exp ?? now() + 3600)
    .sign(signingKey);
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  const body = JSON.stringify({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }],
  });
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  api = await startApiHarness({
    env: {
      CCS_ENTRA_TENANT_ID: TENANT,
      CCS_ENTRA_AUDIENCE: AUDIENCE,
      CCS_ENTRA_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`,
    },
  });
  probe = new StateProbe(api.azurite.connectionString, api.vault);
  const res = await api.request('POST', `/webserver/centralized-certificates/${ENABLED}`, {
    body: { path: 'C:\\certs', identity: { username: 'CONTOSO\\svc', password: 'matrix-Pa55' } },
    headers: { Prefer: 'wait=5' },
  });
  expect(res.status).toBe(200);
  operationId = (
    (await readJson(res)) as { _links: { last_operation: { href: string } } }
  )._links.last_operation.href
    .split('/')
    .pop()!;
});

afterAll(async () => {
  recordFigures('authz-matrix', { endpoints: endpoints().length, callers: CALLERS.length, cells });
  await api?.close();
  await new Promise<void>((resolve) => (jwks ? jwks.close(() => resolve()) : resolve()));
});

type Role = 'read' | 'write';
/** What an endpoint needs: a role, or nothing at all (a route marked `anonymous`). */
type Needs = Role | 'nobody';

interface Caller {
  name: string;
  headers: () => Promise<Record<string, string>>;
  /** The role it holds once authenticated; undefined: it must be refused with `refused`. */
  role?: Role;
  refused?: { status: number; name: string };
}

const CALLERS: Caller[] = [
  {
    name: 'no credentials',
    headers: () => Promise.resolve({}),
    refused: { status: 401, name: 'Access-Token' },
  },
  {
    name: 'a bad key',
    headers: () => Promise.resolve({ 'Access-Token': `Bearer ${randomUUID()}` }),
    refused: { status: 401, name: 'Access-Token' },
  },
  {
    name: 'an expired JWT',
    headers: async () => ({
      Authorization: `Bearer ${await entraToken({ roles: ['CCS.Write'], exp: now() - 600 })}`,
    }),
    refused: { status: 401, name: 'Authorization' },
  },
  {
    name: 'a JWT for another audience',
    headers: async () => ({
      Authorization: `Bearer ${await entraToken({ roles: ['CCS.Write'], aud: 'api://other' })}`,
    }),
    refused: { status: 401, name: 'Authorization' },
  },
  {
    name: 'a JWT without an app role',
    headers: async () => ({ Authorization: `Bearer ${await entraToken()}` }),
    refused: { status: 403, name: 'role' },
  },
  {
    name: 'the read role (key)',
    headers: () => Promise.resolve({ 'Access-Token': `Bearer ${api.readToken}` }),
    role: 'read',
  },
  {
    name: 'the write role (key)',
    headers: () => Promise.resolve({ 'Access-Token': `Bearer ${api.writeToken}` }),
    role: 'write',
  },
  {
    name: 'the read role (Entra)',
    headers: async () => ({ Authorization: `Bearer ${await entraToken({ roles: ['CCS.Read'] })}` }),
    role: 'read',
  },
  {
    name: 'the write role (Entra)',
    headers: async () => ({ Authorization: `Bearer ${await entraToken({ roles: ['CCS.Write'] })}` }),
    role: 'write',
  },
];

/** Reads that still need the write role: they show who changed what. */
const WRITE_ONLY_READS = new Set(['getAudit']);

function endpoints() {
  return httpRoutes.flatMap((route) =>
    route.methods.map((method) => {
      const path = documentedPath(route.route)
        .slice(`/${ROUTE_PREFIX}`.length)
        .replace('{ccsId}', ENABLED)
        .replace('{id}', operationId || '00000000-0000-0000-0000-000000000000')
        .replace(/\{[^}]+\}/g, 'x');
      const reads = method === 'GET' || method === 'HEAD';
      const needs: Needs = route.anonymous
        ? 'nobody'
        : reads && !WRITE_ONLY_READS.has(route.name)
          ? 'read'
          : 'write';
      return { name: route.name, method, path, needs };
    }),
  );
}

describe('the authorization matrix', () => {
  it('covers every route of the route table, the audit log included', () => {
    const names = endpoints().map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'getCentralizedCertificates',
        'updateCentralizedCertificates',
        'getOperation',
        'getAudit',
      ]),
    );
  });

  it('lets only the console and the Entra sign-in settings answer without credentials, read-only', () => {
    const open = endpoints().filter((e) => e.needs === 'nobody');
    expect(open.map((e) => `${e.method} ${e.name}`).sort()).toEqual(['GET getConsole', 'GET getEntraSignIn']);
  });

  it('answers every endpoint × caller as the roles say, and changes nothing', async () => {
    const before = await probe.snapshot();
    const failures: string[] = [];
    for (const endpoint of endpoints()) {
      for (const caller of CALLERS) {
        const headers: Record<string, string> = { ...(await caller.headers()) };
        // Past authorization, a write is still refused on input: no body, or a stale If-Match.
        if (endpoint.method === 'POST' || endpoint.method === 'PATCH')
          headers['Content-Type'] = 'application/json';
        if (endpoint.method === 'DELETE' || endpoint.method === 'PATCH') headers['If-Match'] = '"g999"';
        const res = await fetch(`${api.url}${endpoint.path}`, { method: endpoint.method, headers });
        cells += 1;
        const text = await res.text();
        // The console's files are HTML, scripts and styles; everything else answers JSON.
        const json = res.headers.get('content-type')?.includes('json') ?? false;
        const body = text && json ? (JSON.parse(text) as { name?: string }) : {};
        const cell = `${endpoint.method} ${endpoint.path} as ${caller.name}: ${res.status} ${text.slice(0, 120)}`;
        const want =
          endpoint.needs === 'nobody'
            ? undefined
            : (caller.refused ??
              (endpoint.needs === 'write' && caller.role === 'read'
                ? { status: 403, name: 'role' }
                : undefined));
        if (want) {
          if (res.status !== want.status || (endpoint.method !== 'HEAD' && body.name !== want.name))
            failures.push(cell);
        } else if (res.status === 401 || res.status === 403 || res.status >= 500) {
          failures.push(cell);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(diffState(before, await probe.snapshot())).toEqual([]);
  }, 60_000);

  it('records an Entra caller as <oid>@<tid>, with the display name beside it, in the audit log', async () => {
    const token = await entraToken({ roles: ['CCS.Write'] });
    const res = await api.request('PATCH', `/webserver/centralized-certificates/${ENABLED}`, {
      body: { path: 'C:\\certs\\entra' },
      token,
    });
    expect(res.status).toBe(202);
    const audit = (await readJson(await api.request('GET', `/audit?ccs_id=${ENABLED}&top=1`))) as {
      entries: { who: string; who_name?: string }[];
    };
    expect(audit.entries[0]).toMatchObject({ who: `entra:${OID}@${TENANT}`, who_name: 'matrix@contoso.com' });
    // The operation shows its requester to write-role callers (those who see the audit log).
    const url = res.headers.get('operation-location')!.replace(/^\/api/, '');
    expect(await readJson(await api.request('GET', url))).toMatchObject({
      requested_by: `entra:${OID}@${TENANT}`,
    });
  });
});
