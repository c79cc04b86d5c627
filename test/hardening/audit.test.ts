/**
 * The audit log at `GET /api/audit`: every accepted change with who, when, ccs-id, operation and
 * the fields that changed — secret fields as `{HIDDEN}`, never a value or a Key Vault reference;
 * nothing for refused or no-op requests; write-role callers only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { FakeHost } from '../support/fake-host.js';
import { recordFigures } from './support/results.js';

const RESOURCE = '/webserver/centralized-certificates';
const PASSWORD = 'audit-canary-Pa55-1f2e';
const ROTATED = 'audit-canary-Pa55-rotated-9c8d';
const KEY_PASSWORD = 'audit-canary-key-77aa';

let api: ApiHarness;
let entriesSeen = 0;

beforeAll(async () => {
  api = await startApiHarness({ preflightTimeoutSeconds: 5 });
});
afterAll(async () => {
  recordFigures('audit', { entriesChecked: entriesSeen });
  await api?.close();
});

interface Entry {
  id: string;
  at: string;
  who: string;
  ccs_id: string;
  kind: string;
  operation: { id: string; kind: string; status: string | null; href: string } | null;
  status: string;
  changes: { field: string; from: unknown; to: unknown }[];
}

async function audit(
  query = '',
  token?: string,
): Promise<{ status: number; text: string; entries: Entry[] }> {
  const res = await api.request('GET', `/audit${query}`, token === undefined ? {} : { token });
  const text = await res.text();
  const entries = res.status === 200 ? (JSON.parse(text) as { entries: Entry[] }).entries : [];
  entriesSeen += entries.length;
  return { status: res.status, text, entries };
}

const operationId = (res: Response) => res.headers.get('operation-location')?.split('/').pop();

describe('the audit log', () => {
  const id = 'audit-a';

  it('records each accepted change, newest first, with secrets hidden', async () => {
    const started = Date.now();
    const steps: { res: Response; kind: string }[] = [];
    const send = async (method: string, body?: unknown, kind = 'update') => {
      const res = await api.request(method, `${RESOURCE}/${id}`, body === undefined ? {} : { body });
      expect(res.status, await res.clone().text()).toBe(202);
      steps.push({ res, kind });
    };
    await send(
      'POST',
      {
        path: 'C:\\certs',
        identity: { username: 'CONTOSO\\svc', password: PASSWORD },
        private_key_password: KEY_PASSWORD,
      },
      'enable',
    );
    await send('PATCH', { path: 'C:\\certs\\moved', identity: { username: 'CONTOSO\\svc2' } });
    await send('PATCH', { identity: { password: ROTATED } });
    await send('PATCH', { private_key_password: '' });
    // Refused and no-op requests leave no entry.
    expect((await api.request('PATCH', `${RESOURCE}/${id}`, { body: { path: 'D:\\nope' } })).status).toBe(
      403,
    );
    expect(
      (await api.request('PATCH', `${RESOURCE}/${id}`, { body: { path: 'C:\\certs\\moved' } })).status,
    ).toBe(200);
    expect(
      (await api.request('PATCH', `${RESOURCE}/${id}`, { body: { path: 'C:\\x' }, token: api.readToken }))
        .status,
    ).toBe(403);
    await send('DELETE', undefined, 'disable');

    const { status, text, entries } = await audit(`?ccs_id=${id}`);
    expect(status).toBe(200);
    expect(entries.map((e) => e.operation!.id)).toEqual(steps.map((s) => operationId(s.res)).reverse());
    expect(entries.map((e) => e.operation!.kind)).toEqual(steps.map((s) => s.kind).reverse());
    for (const e of entries) {
      expect(e).toMatchObject({ who: 'access-token:writer', ccs_id: id, operation: { status: 'Succeeded' } });
      expect(Date.parse(e.at)).toBeGreaterThanOrEqual(started - 1000);
      expect(e.operation!.href).toBe(`/api/operations/${e.operation!.id}`);
    }
    const [disable, unsetKey, rotate, move, enable] = entries;
    expect(enable!.changes).toEqual([
      { field: 'enabled', from: false, to: true },
      { field: 'path', from: null, to: 'C:\\certs' },
      { field: 'identity.username', from: null, to: 'CONTOSO\\svc' },
      { field: 'identity.password', from: null, to: '{HIDDEN}' },
      { field: 'private_key_password', from: null, to: '{HIDDEN}' },
    ]);
    expect(move!.changes).toEqual([
      { field: 'path', from: 'C:\\certs', to: 'C:\\certs\\moved' },
      { field: 'identity.username', from: 'CONTOSO\\svc', to: 'CONTOSO\\svc2' },
    ]);
    // A rotation to a new version is a change even though nothing about it can be shown.
    expect(rotate!.changes).toEqual([{ field: 'identity.password', from: '{HIDDEN}', to: '{HIDDEN}' }]);
    expect(unsetKey!.changes).toEqual([{ field: 'private_key_password', from: '{HIDDEN}', to: null }]);
    expect(disable!.changes).toEqual([
      { field: 'enabled', from: true, to: false },
      { field: 'path', from: 'C:\\certs\\moved', to: null },
      { field: 'identity.username', from: 'CONTOSO\\svc2', to: null },
      { field: 'identity.password', from: '{HIDDEN}', to: null },
    ]);
    // Neither a value nor a Key Vault reference of a secret.
    for (const secret of [
      PASSWORD,
      ROTATED,
      KEY_PASSWORD,
      `ccs-${id}-identity-password`,
      'private-key-password',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('records changes whose operation then fails, with the outcome', async () => {
    const failing = 'audit-b';
    const host = new FakeHost(api.storage, failing, 'web01', await api.enrolmentCode(failing));
    await host.hello();
    await api.drainReports();
    const res = await api.request('POST', `${RESOURCE}/${failing}`, {
      body: { path: '\\\\fileserver\\ccs', identity: { username: 'CONTOSO\\svc', password: PASSWORD } },
    });
    expect(res.status).toBe(202);
    for (const c of await host.commands()) {
      await host.answer(c, {
        name: 'identity',
        code: 'CannotAccessStore',
        detail: 'Cannot access certificate store',
        status: 400,
      });
    }
    await api.drainReports();
    const { entries } = await audit(`?ccs_id=${failing}`);
    expect(entries).toHaveLength(2);
    expect(entries[0]!.operation).toMatchObject({ id: operationId(res), kind: 'enable', status: 'Failed' });
    // The host's enrolment code is an audited action too: by whom and until when, never the code.
    expect(entries[1]).toMatchObject({
      kind: 'enrolment-code',
      operation: null,
      status: 'Succeeded',
      who: 'access-token:writer',
      changes: [{ field: 'enrolment_code', from: null }],
    });
  });

  it('filters by ccs_id, bounds with top, and refuses bad parameters naming them', async () => {
    const all = await audit();
    expect(new Set(all.entries.map((e) => e.ccs_id))).toEqual(new Set(['audit-a', 'audit-b']));
    expect((await audit('?top=2')).entries).toHaveLength(2);
    for (const [query, name] of [
      ['?top=0', 'top'],
      ['?top=501', 'top'],
      ['?top=abc', 'top'],
      ['?top=1.5', 'top'],
      ['?ccs_id=Not_An_Id', 'ccs_id'],
      ['?ccs_id=', 'ccs_id'],
    ] as const) {
      const res = await audit(query);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.text), query).toMatchObject({ name, status: 400 });
    }
  });

  it('is for write-role callers only', async () => {
    const read = await audit('', api.readToken);
    expect(read.status).toBe(403);
    expect(JSON.parse(read.text)).toMatchObject({ name: 'role' });
    expect((await audit('', null as unknown as string)).status).toBe(401);
    const res = await api.request('GET', '/audit', { token: null });
    expect(res.status).toBe(401);
    expect((await readJson(res)).name).toBe('Access-Token');
  });
});
