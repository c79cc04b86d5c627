/**
 * Enrolment through the HTTP API (issue 17): a host without a code waits as pending and gets
 * nothing; an administrator lists it, compares the thumbprint, approves it, and only then is its
 * hello folded (queue made, desired state sent). Wrong thumbprints, unknown hosts, bad bodies and
 * read-role callers are refused and change nothing; each action is in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { FakeHost, newHostKey } from '../support/fake-host.js';
import { HostListSchema } from '../../functions/openapi/response-schemas.js';
import { jwkThumbprint } from '../../shared/report-signature.js';

const ID = 'enrol-api';
const hosts = `/webserver/centralized-certificates/${ID}/hosts`;
let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
  const res = await api.request('POST', `/webserver/centralized-certificates/${ID}`, {
    body: {
      path: '\\\\fileserver\\ccs',
      identity: { username: 'CONTOSO\\ccs-reader', password: 'canary-enrol-Pa55-9e1' },
      private_key_password: '',
    },
  });
  expect(res.status).toBe(202);
}, 60_000);
afterAll(async () => {
  await api?.close();
});

describe('pending hosts and approval over HTTP', () => {
  it('keeps a host without a code pending — no queue, no command, not in the host list', async () => {
    const host = new FakeHost(api.storage, ID, 'web-new');
    await host.hello();
    await api.drainReports();
    expect(await host.commands().catch(() => [])).toEqual([]);
    const list = HostListSchema.parse(await readJson(await api.request('GET', hosts)));
    expect(list.hosts.map((h) => h.name)).not.toContain('web-new');
    const pending = HostListSchema.parse(await readJson(await api.request('GET', `${hosts}?status=pending`)));
    expect(pending.hosts.find((h) => h.name === 'web-new')?.enrolment).toMatchObject({
      status: 'pending',
      pending_thumbprint: host.thumbprint,
      thumbprint: null,
    });
  });

  it('refuses a wrong thumbprint (409), an unknown host (404), a bad body (400) and a read-role caller (403)', async () => {
    const approve = (name: string, body: unknown, token?: string) =>
      api.request('POST', `${hosts}/${name}/approve`, { body, ...(token ? { token } : {}) });
    const other = jwkThumbprint(newHostKey().publicKey);
    expect((await approve('web-new', { thumbprint: other })).status).toBe(409);
    expect((await approve('web-nobody', { thumbprint: other })).status).toBe(404);
    const bad = await approve('web-new', { thumbprint: 'short' });
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toMatchObject({ name: 'thumbprint' });
    expect((await approve('web-new', { thumbprint: other }, api.readToken)).status).toBe(403);
    const codes = await api.request('POST', `/webserver/centralized-certificates/${ID}/enrolment-codes`, {
      body: {},
      token: api.readToken,
    });
    expect(codes.status).toBe(403);
    const pending = await api.stores.enrolment.getHostKey(ID, 'web-new');
    expect(pending?.record).toMatchObject({ key: null, thumbprint: null });
  });

  it('approves the compared key: the host is enrolled, sent the desired state, and the approval audited', async () => {
    const host = new FakeHost(api.storage, ID, 'web-approved');
    await host.hello();
    await api.drainReports();
    const res = await api.request('POST', `${hosts}/web-approved/approve`, {
      body: { thumbprint: host.thumbprint },
    });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      name: 'web-approved',
      enrolment: { status: 'enrolled', thumbprint: host.thumbprint, pending_thumbprint: null },
    });
    const [command] = await host.commands();
    expect(command).toMatchObject({ type: 'apply', generation: 1 });
    // From now on its signed reports are folded.
    await host.answer(command!);
    await api.drainReports();
    const list = HostListSchema.parse(await readJson(await api.request('GET', hosts)));
    expect(list.hosts.find((h) => h.name === 'web-approved')).toMatchObject({ applied_generation: 1 });
    const audit = (await readJson(await api.request('GET', `/audit?ccs_id=${ID}`))) as {
      entries: { kind: string; changes: { field: string; to: string }[] }[];
    };
    expect(audit.entries.find((e) => e.kind === 'host-approval')?.changes).toEqual([
      { field: 'hosts.web-approved.key', from: null, to: host.thumbprint },
    ]);
  });
});
