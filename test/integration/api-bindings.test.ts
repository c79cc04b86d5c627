/**
 * Issue 13 through the API: hosts report their CCS bindings and serving checks over the real
 * queues (scripted hosts), the API stores them in Azurite and shows them in /hosts, the
 * operation, the resource and the coverage endpoint; DELETE and refused changes answer the 409s,
 * and `?force=true` overrides them and is audited. Every response is checked against the
 * OpenAPI document (checkedFetch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { FakeHost } from '../support/fake-host.js';
import { bindingsDigest } from '../../shared/bindings/digest.js';
import {
  MESSAGE_VERSION,
  type BindingsReport,
  type CcsBinding,
  type Command,
  type HostError,
  type ServingCheck,
} from '../../shared/messages.js';
import { CoverageSchema } from '../../functions/openapi/coverage-schemas.js';
import {
  AuditLogSchema,
  CentralizedCertificatesSchema,
  ErrorBodySchema,
  HostListSchema,
  OperationSchema,
} from '../../functions/openapi/response-schemas.js';

let api: ApiHarness;
let counter = 0;
const newId = () => `b${process.pid % 1000}-${++counter}`;
const resource = (id: string) => `/webserver/centralized-certificates/${id}`;
const enableBody = {
  path: '\\\\fileserver\\ccs',
  identity: { username: 'CONTOSO\\ccs-reader', password: 'bindings-share-Pa55' },
  private_key_password: 'bindings-key-Pa55',
};

const SITES: CcsBinding[] = [
  { site: 'Contoso', hostName: 'www.contoso.com', port: 443, ip: '*', sni: true },
  { site: 'Contoso', hostName: 'shop.contoso.com', port: 443, ip: '*', sni: true },
  { site: 'Fabrikam', hostName: 'www.fabrikam.com', port: 443, ip: '2001:db8::5', sni: true },
];
const SERVING: ServingCheck = {
  at: '2026-06-01T12:00:00.000Z',
  counts: { ok: 2, mismatch: 0, failed: 1, skipped: 0 },
  results: [
    {
      site: 'Fabrikam',
      hostName: 'www.fabrikam.com',
      port: 443,
      ip: '2001:db8::5',
      status: 'failed',
      detail: 'The handshake failed: no certificate for this name',
      file: null,
      expected: null,
      served: null,
    },
  ],
  omitted: 2,
};

beforeAll(async () => {
  api = await startApiHarness({ preflightTimeoutSeconds: 5 });
});
afterAll(async () => {
  await api?.close();
});

async function enrol(id: string, names: string[], bindings = SITES): Promise<FakeHost[]> {
  const hosts = await Promise.all(
    names.map(async (n) => {
      const host = new FakeHost(api.storage, id, n, await api.enrolmentCode(id));
      host.bindings = {
        digest: bindingsDigest(bindings),
        total: bindings.length,
        items: bindings,
        error: null,
      };
      host.serving = SERVING;
      return host;
    }),
  );
  await Promise.all(hosts.map((h) => h.hello()));
  await api.drainReports();
  return hosts;
}

/**
 * Play the hosts until `request` (sent with `Prefer: wait`) is answered: every command they get
 * is answered (preflights refused with `refuse` when it gives an error). Returns the answer and
 * the commands seen.
 */
async function answerUntil(
  hosts: FakeHost[],
  request: Promise<Response>,
  refuse?: (host: FakeHost) => HostError | null,
): Promise<{ res: Response; commands: Command[] }> {
  let answered = false;
  void request.finally(() => (answered = true));
  const commands: Command[] = [];
  while (!answered) {
    for (const host of hosts) {
      for (const command of await host.commands()) {
        commands.push(command);
        await host.answer(command, command.type === 'preflight' ? (refuse?.(host) ?? null) : null);
      }
    }
    await api.drainReports();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { res: await request, commands };
}

async function enabled(names = ['web-01', 'web-02']): Promise<{ id: string; hosts: FakeHost[] }> {
  const id = newId();
  const hosts = await enrol(id, names);
  const answered = api.request('POST', resource(id), { body: enableBody, headers: { Prefer: 'wait=20' } });
  const enabledAnswer = await answerUntil(hosts, answered);
  expect(enabledAnswer.res.status).toBe(200);
  return { id, hosts };
}

describe('bindings and serving checks in the API', () => {
  it("shows each host's bindings and serving check, and the serving summary of the resource and operation", async () => {
    const { id } = await enabled();
    const hosts = HostListSchema.parse(await readJson(await api.request('GET', `${resource(id)}/hosts`)));
    for (const host of hosts.hosts) {
      expect(host.bindings).toMatchObject({ total: 3, digest: bindingsDigest(SITES), error: null });
      expect(host.serving).toMatchObject({ generation: 1, counts: SERVING.counts, omitted: 2 });
      expect(host.serving?.results[0]).toMatchObject({ host_name: 'www.fabrikam.com', status: 'failed' });
    }
    const body = CentralizedCertificatesSchema.parse(await readJson(await api.request('GET', resource(id))));
    expect(body.serving).toEqual({ generation: 1, hosts: 2, ok: 4, mismatch: 0, failed: 2, skipped: 0 });
    expect(body._links.coverage.href).toBe(`/api${resource(id)}/coverage`);
    const op = OperationSchema.parse(
      await readJson(await api.request('GET', body._links.last_operation!.href.replace(/^\/api/, ''))),
    );
    expect(op.serving).toMatchObject({ hosts: 2, ok: 4, failed: 2 });
    expect(op.hosts.map((h) => h.serving?.counts.ok)).toEqual([2, 2]);
  });

  it('lists every bound name in coverage: uncovered while the inventory holds no file for it', async () => {
    const { id } = await enabled(['web-01']);
    const coverage = CoverageSchema.parse(
      await readJson(await api.request('GET', `${resource(id)}/coverage`, { token: api.readToken })),
    );
    expect(coverage.names.map((n) => [n.host_name, n.status])).toEqual([
      ['shop.contoso.com', 'uncovered'],
      ['www.contoso.com', 'uncovered'],
      ['www.fabrikam.com', 'uncovered'],
    ]);
    expect(coverage.names[0]!.reason).toContain('shop.contoso.com.pfx, then _.contoso.com.pfx');
    expect(coverage.names[2]!.bound_by).toEqual([
      {
        host: 'web-01',
        site: 'Fabrikam',
        host_name: 'www.fabrikam.com',
        port: 443,
        ip: '2001:db8::5',
        sni: true,
      },
    ]);
    expect(coverage.summary).toEqual({ covered: 0, uncovered: 3, expiring: 0 });
    const body = CentralizedCertificatesSchema.parse(await readJson(await api.request('GET', resource(id))));
    expect(body.coverage).toEqual(coverage.summary);
    // The alert timer's events for this fleet: one per uncovered name (with how many hosts bind it).
    const from = api.logs.length;
    await api.app.coverageTelemetry.run();
    const events = api.logs
      .slice(from)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((e) => e.ccsId === id && e.msg === 'ccs.binding.uncovered');
    expect(events.map((e) => [e.hostName, e.hosts])).toEqual([
      ['shop.contoso.com', 1],
      ['www.contoso.com', 1],
      ['www.fabrikam.com', 1],
    ]);
  });

  it('assembles a host with thousands of bindings from chunks in any order, and bounds the coverage answer', async () => {
    const { id, hosts: enrolled } = await enabled(['web-01']);
    const many: CcsBinding[] = Array.from({ length: 3000 }, (_, i) => ({
      site: `Site${Math.floor(i / 10)}`,
      hostName: `s${String(i).padStart(4, '0')}.contoso.com`,
      port: 443,
      ip: i % 2 === 0 ? '*' : '2001:db8::5',
      sni: true,
    }));
    // As the agent sends a long list: chunks of one digest, each under the 64 KB queue message.
    const size = 400;
    const count = Math.ceil(many.length / size);
    const chunk = (index: number): BindingsReport => ({
      v: MESSAGE_VERSION,
      type: 'bindings',
      ccsId: id,
      host: 'web-01',
      digest: bindingsDigest(many),
      total: many.length,
      chunk: { index, count },
      bindings: many.slice(index * size, (index + 1) * size),
      error: null,
      appliedGeneration: 1,
      at: new Date().toISOString(),
    });
    for (const index of [3, 0, 7, 1, 1, 6, 2, 5, 4]) await enrolled[0]!.report(chunk(index));
    await api.drainReports();
    const hosts = HostListSchema.parse(await readJson(await api.request('GET', `${resource(id)}/hosts`)));
    expect(hosts.hosts[0]?.bindings).toMatchObject({
      total: 3000,
      digest: bindingsDigest(many),
      error: null,
    });
    const all = CoverageSchema.parse(await readJson(await api.request('GET', `${resource(id)}/coverage`)));
    expect(all.names_total).toBe(3000);
    expect(all.names).toHaveLength(1000);
    expect(all.names[0]?.host_name).toBe('s0000.contoso.com');
    const covered = CoverageSchema.parse(
      await readJson(await api.request('GET', `${resource(id)}/coverage?status=covered`)),
    );
    expect([covered.names_total, covered.summary.uncovered]).toEqual([0, 3000]);
    const bad = await api.request('GET', `${resource(id)}/coverage?status=maybe`);
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(await readJson(bad)).name).toBe('status');
  });

  it('answers the seed 404 for the coverage of an id that is not enabled', async () => {
    const res = await api.request('GET', `${resource(newId())}/coverage`);
    expect(res.status).toBe(404);
    expect(ErrorBodySchema.parse(await readJson(res)).name).toBe('IIS Central Certificate Store');
  });
});

describe('DELETE while sites use CCS, and ?force=true', () => {
  it('refuses with 409 SitesUseCcs naming the sites and hosts, changing nothing; force disables and is audited', async () => {
    const { id, hosts } = await enabled();
    const refused = await api.request('DELETE', resource(id));
    expect(refused.status).toBe(409);
    expect(refused.headers.get('x-ms-error-code')).toBe('SitesUseCcs');
    const error = ErrorBodySchema.parse(await readJson(refused));
    expect(error).toMatchObject({ name: 'force' });
    expect(error.sites).toEqual([
      { name: 'Contoso', hosts: ['web-01', 'web-02'], host_names: ['shop.contoso.com', 'www.contoso.com'] },
      { name: 'Fabrikam', hosts: ['web-01', 'web-02'], host_names: ['www.fabrikam.com'] },
    ]);
    expect(error.detail).toContain('?force=true');
    expect(
      CentralizedCertificatesSchema.parse(await readJson(await api.request('GET', resource(id)))),
    ).toMatchObject({
      generation: 1,
    });
    for (const host of hosts) expect(await host.commands()).toEqual([]);

    const forced = api.request('DELETE', `${resource(id)}?force=true`, { headers: { Prefer: 'wait=20' } });
    const forcedAnswer = await answerUntil(hosts, forced);
    expect(forcedAnswer.res.status).toBe(204);
    const audit = AuditLogSchema.parse(await readJson(await api.request('GET', `/audit?ccs_id=${id}`)));
    expect(audit.entries.filter((e) => e.operation).map((e) => [e.operation?.kind, e.force])).toEqual([
      ['disable', true],
      ['enable', false],
    ]);
  });

  it('disables as before when no host has a CCS binding', async () => {
    const id = newId();
    const hosts = await enrol(id, ['web-01'], []);
    const answered = api.request('POST', resource(id), { body: enableBody, headers: { Prefer: 'wait=20' } });
    const enabledAnswer = await answerUntil(hosts, answered);
    expect(enabledAnswer.res.status).toBe(200);
    const deleted = api.request('DELETE', resource(id), { headers: { Prefer: 'wait=20' } });
    const deletedAnswer = await answerUntil(hosts, deleted);
    expect(deletedAnswer.res.status).toBe(204);
  });

  it('refuses force=maybe with 400 naming force, and changes nothing', async () => {
    const { id } = await enabled(['web-01']);
    const res = await api.request('DELETE', `${resource(id)}?force=maybe`);
    expect(res.status).toBe(400);
    expect(ErrorBodySchema.parse(await readJson(res)).name).toBe('force');
    expect((await api.request('GET', resource(id))).status).toBe(200);
  });
});

describe('a change the hosts refuse for bound names', () => {
  const refusal = (hostNames: string[]): HostError => ({
    name: 'private_key_password',
    code: 'BoundNamesUncovered',
    detail: `The new settings leave ${hostNames.join(', ')} without a certificate`,
    status: 409,
    hostNames,
  });

  it('answers 409 BoundNamesUncovered naming the host names and hosts; nothing changes', async () => {
    const { id, hosts } = await enabled();
    const patched = api.request('PATCH', resource(id), {
      body: { private_key_password: 'opens-nothing' },
      headers: { Prefer: 'wait=20' },
    });
    const { res, commands } = await answerUntil(hosts, patched, (host) =>
      host.host === 'web-01'
        ? refusal(['www.contoso.com', 'shop.contoso.com'])
        : refusal(['www.contoso.com']),
    );
    expect(commands.every((c) => c.type === 'preflight' && c.force === undefined)).toBe(true);
    expect(res.status).toBe(409);
    expect(res.headers.get('x-ms-error-code')).toBe('BoundNamesUncovered');
    const error = ErrorBodySchema.parse(await readJson(res));
    expect(error).toMatchObject({
      name: 'private_key_password',
      host_names: ['shop.contoso.com', 'www.contoso.com'],
      hosts: ['web-01', 'web-02'],
    });
    const body = CentralizedCertificatesSchema.parse(await readJson(await api.request('GET', resource(id))));
    expect(body.generation).toBe(1);
    const list = HostListSchema.parse(await readJson(await api.request('GET', `${resource(id)}/hosts`)));
    expect(list.hosts.every((h) => h.applied_generation === 1)).toBe(true);
  });

  it('sends force with the preflight when ?force=true, and records it on the operation', async () => {
    const { id, hosts } = await enabled(['web-01']);
    const patched = api.request('PATCH', `${resource(id)}?force=true`, {
      body: { private_key_password: 'opens-nothing' },
      headers: { Prefer: 'wait=20' },
    });
    const { res, commands } = await answerUntil(hosts, patched);
    expect(commands.find((c) => c.type === 'preflight')).toMatchObject({ force: true });
    expect(res.status).toBe(200);
    const body = CentralizedCertificatesSchema.parse(await readJson(res));
    const op = OperationSchema.parse(
      await readJson(await api.request('GET', body._links.last_operation!.href.replace(/^\/api/, ''))),
    );
    expect(op).toMatchObject({ status: 'Succeeded', force: true });
  });
});
