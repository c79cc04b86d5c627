import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { FakeHost } from '../support/fake-host.js';
import { ResultReportSchema } from '../../shared/messages.js';
import {
  CentralizedCertificatesSchema,
  ErrorBodySchema,
  HostListSchema,
  OperationSchema,
} from '../../functions/openapi/response-schemas.js';

const SEED_404 =
  '{"title":"Not found","detail":"IIS feature not installed","name":"IIS Central Certificate Store","status":404}';
const SHARE_PASSWORD = 'canary-share-Pa55-7f3a91';
const KEY_PASSWORD = 'canary-key-Pa55-c0ffee';

let api: ApiHarness;
let counter = 0;
const newId = () => `t${process.pid % 1000}-${++counter}`;

const enableBody = (path = '\\\\fileserver\\ccs') => ({
  path,
  identity: { username: 'CONTOSO\\ccs-reader', password: SHARE_PASSWORD },
  private_key_password: KEY_PASSWORD,
});

beforeAll(async () => {
  api = await startApiHarness({ preflightTimeoutSeconds: 2 });
});
afterAll(async () => {
  await api?.close();
});

describe('the centralized-certificates resource without hosts', () => {
  it('answers the seed 404 body exactly when CCS is not enabled', async () => {
    const res = await api.request('GET', `/webserver/centralized-certificates/${newId()}`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(SEED_404);
  });

  it('enables at once and records the desired state when no host is enrolled', async () => {
    const id = newId();
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('operation-location')).toMatch(/^\/api\/operations\/[0-9a-f-]{36}$/);
    const op = OperationSchema.parse(await readJson(res));
    expect(op.status).toBe('Succeeded');
    const get = await api.request('GET', `/webserver/centralized-certificates/${id}`);
    expect(get.status).toBe(200);
    const body = CentralizedCertificatesSchema.parse(await readJson(get));
    expect(body).toMatchObject({
      id,
      path: '\\\\fileserver\\ccs',
      identity: { username: 'CONTOSO\\ccs-reader' },
      generation: 1,
    });
    expect(get.headers.get('etag')).toBe('"g1"');
  });

  it('returns 200 with the resource for Prefer: wait', async () => {
    const id = newId();
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody('C:/certs/./sub/../web'),
      headers: { Prefer: 'wait=5' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=5');
    expect((await readJson(res)).path).toBe('C:\\certs\\web');
  });

  it('lists enabled ids and forgets disabled ones', async () => {
    const id = newId();
    await api.request('POST', `/webserver/centralized-certificates/${id}`, { body: enableBody() });
    let list = (await (await api.request('GET', '/ccs-ids')).json()) as {
      'centralized-certificates': { id: string }[];
    };
    expect(list['centralized-certificates'].map((c: { id: string }) => c.id)).toContain(id);
    const del = await api.request('DELETE', `/webserver/centralized-certificates/${id}`, {
      headers: { Prefer: 'wait=5' },
    });
    expect(del.status).toBe(204);
    list = (await (await api.request('GET', '/ccs-ids')).json()) as typeof list;
    expect(list['centralized-certificates'].map((c: { id: string }) => c.id)).not.toContain(id);
    expect((await api.request('GET', `/webserver/centralized-certificates/${id}`)).status).toBe(404);
    expect((await api.request('DELETE', `/webserver/centralized-certificates/${id}`)).status).toBe(204);
  });

  it('re-enables an id after a disable (its soft-deleted secrets are recovered)', async () => {
    const id = newId();
    await api.request('POST', `/webserver/centralized-certificates/${id}`, { body: enableBody() });
    await api.request('DELETE', `/webserver/centralized-certificates/${id}`);
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
      headers: { Prefer: 'wait=5' },
    });
    expect(res.status).toBe(200);
    expect((await readJson(res)).generation).toBe(3);
  });

  it('answers 409 naming id for a POST to an enabled id', async () => {
    const id = newId();
    await api.request('POST', `/webserver/centralized-certificates/${id}`, { body: enableBody() });
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    expect(res.status).toBe(409);
    expect(ErrorBodySchema.parse(await readJson(res)).name).toBe('id');
  });

  it('patches a subset, tolerates a GET body sent back, and honours If-Match', async () => {
    const id = newId();
    await api.request('POST', `/webserver/centralized-certificates/${id}`, { body: enableBody() });
    const got = await api.request('GET', `/webserver/centralized-certificates/${id}`);
    const etag = got.headers.get('etag')!;
    const echoed = { ...(await readJson(got)), path: 'C:\\certs\\new' };
    const patched = await api.request('PATCH', `/webserver/centralized-certificates/${id}`, {
      body: echoed,
      headers: { 'If-Match': etag, Prefer: 'wait=5' },
    });
    expect(patched.status).toBe(200);
    expect(await readJson(patched)).toMatchObject({ path: 'C:\\certs\\new', generation: 2 });
    const stale = await api.request('PATCH', `/webserver/centralized-certificates/${id}`, {
      body: { path: 'C:\\certs\\other' },
      headers: { 'If-Match': etag },
    });
    expect(stale.status).toBe(412);
    const after = await readJson(await api.request('GET', `/webserver/centralized-certificates/${id}`));
    expect(after.path).toBe('C:\\certs\\new');
  });

  it('rotates a password as a new Key Vault version and a new generation', async () => {
    const id = newId();
    await api.request('POST', `/webserver/centralized-certificates/${id}`, { body: enableBody() });
    const before = await api.stores.desired.get(id);
    await api.request('PATCH', `/webserver/centralized-certificates/${id}`, {
      body: { identity: { password: 'rotated-Pa55-1' } },
    });
    const after = await api.stores.desired.get(id);
    expect(after!.record.generation).toBe(before!.record.generation + 1);
    expect(after!.record.desired.password!.name).toBe(before!.record.desired.password!.name);
    expect(after!.record.desired.password!.version).not.toBe(before!.record.desired.password!.version);
    expect(await api.secrets.getSecret(after!.record.desired.password!)).toBe('rotated-Pa55-1');
    expect(await api.secrets.getSecret(before!.record.desired.password!)).toBe(SHARE_PASSWORD);
  });
});

describe('validation and authentication', () => {
  const cases: [string, unknown, string][] = [
    ['a missing path', { identity: { username: 'u', password: 'p' } }, 'path'],
    ['a relative path', enableBody('certs'), 'path'],
    ['a device path', enableBody('\\\\?\\C:\\certs'), 'path'],
    [
      'a bad username',
      { ...enableBody(), identity: { username: 'a\\b\\c', password: 'p' } },
      'identity.username',
    ],
    [
      'an empty password',
      { ...enableBody(), identity: { username: 'u', password: '' } },
      'identity.password',
    ],
    ['a numeric private key password', { ...enableBody(), private_key_password: 7 }, 'private_key_password'],
    ['an unknown field', { ...enableBody(), colour: 'red' }, 'colour'],
  ];
  for (const [what, body, field] of cases) {
    it(`rejects ${what} with 400 naming ${field}`, async () => {
      const id = newId();
      const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, { body });
      expect(res.status).toBe(400);
      expect(ErrorBodySchema.parse(await readJson(res))).toMatchObject({
        title: 'Invalid parameter',
        name: field,
        status: 400,
      });
      expect(await api.stores.desired.get(id)).toBeNull();
    });
  }

  it('rejects an invalid id with 400 naming id', async () => {
    const res = await api.request('GET', '/webserver/centralized-certificates/Not_Valid');
    expect(res.status).toBe(400);
    expect((await readJson(res)).name).toBe('id');
  });

  it('answers 403 naming path for a path outside the allowed locations', async () => {
    const res = await api.request('POST', `/webserver/centralized-certificates/${newId()}`, {
      body: enableBody('\\\\fileserver\\ccs-evil'),
    });
    expect(res.status).toBe(403);
    expect((await readJson(res)).name).toBe('path');
  });

  it('answers 415 for a body that is not JSON, and 413 over 64 KiB', async () => {
    const id = newId();
    const text = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: JSON.stringify(enableBody()),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const big = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: { ...enableBody(), pad: 'x'.repeat(70_000) },
    });
    expect(big.status).toBe(413);
    expect(await api.stores.desired.get(id)).toBeNull();
  });

  it('shows who requested an operation to write-role callers only, as the audit log (issue 17)', async () => {
    const res = await api.request('POST', `/webserver/centralized-certificates/${newId()}`, {
      body: enableBody(),
    });
    expect(res.status).toBe(202);
    expect(OperationSchema.parse(await readJson(res)).requested_by).toMatch(/^access-token:/);
    const url = res.headers.get('operation-location')!.replace(/^\/api/, '');
    const asWriter = OperationSchema.parse(await readJson(await api.request('GET', url)));
    expect(asWriter.requested_by).toMatch(/^access-token:/);
    const asReader = await readJson(await api.request('GET', url, { token: api.readToken }));
    expect(asReader).not.toHaveProperty('requested_by');
    expect(OperationSchema.parse(asReader).id).toBe(asWriter.id);
  });

  it('answers 401 without credentials and 403 for a read-only caller that writes', async () => {
    const id = newId();
    expect(
      (await api.request('GET', `/webserver/centralized-certificates/${id}`, { token: null })).status,
    ).toBe(401);
    expect(
      (await api.request('GET', `/webserver/centralized-certificates/${id}`, { token: 'nope' })).status,
    ).toBe(401);
    expect(
      (await api.request('GET', `/webserver/centralized-certificates/${id}`, { token: api.readToken }))
        .status,
    ).toBe(404);
    const write = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
      token: api.readToken,
    });
    expect(write.status).toBe(403);
    expect(await api.stores.desired.get(id)).toBeNull();
  });
});

describe('fan-out to enrolled hosts in two phases', () => {
  /** The host's commands, once the change has sent them (a request in flight sends them). */
  async function waitForCommands(host: FakeHost): Promise<Awaited<ReturnType<FakeHost['commands']>>> {
    for (;;) {
      const commands = await host.commands();
      if (commands.length > 0) return commands;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function enrol(id: string, names: string[]): Promise<FakeHost[]> {
    const hosts = await Promise.all(
      names.map(async (n) => new FakeHost(api.storage, id, n, await api.enrolmentCode(id))),
    );
    await Promise.all(hosts.map((h) => h.hello()));
    await api.drainReports();
    return hosts;
  }

  it('preflights on every host, commits, applies, and completes the operation', async () => {
    const id = newId();
    const hosts = await enrol(id, ['web-01', 'web-02']);
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    expect(res.status).toBe(202);
    const opUrl = res.headers.get('operation-location')!.replace(/^\/api/, '');
    for (const host of hosts) {
      const [cmd] = await host.commands();
      expect(cmd).toMatchObject({ type: 'preflight', generation: 1 });
      await host.answer(cmd!);
    }
    await api.drainReports();
    // Still not visible: committed only now, applied next.
    for (const host of hosts) {
      const [cmd] = await host.commands();
      expect(cmd).toMatchObject({ type: 'apply', generation: 1 });
      await host.answer(cmd!);
    }
    await api.drainReports();
    const op = OperationSchema.parse(await (await api.request('GET', opUrl)).json());
    expect(op.status).toBe('Succeeded');
    expect(op.hosts.map((h) => [h.name, h.preflight, h.apply]).sort()).toEqual([
      ['web-01', 'succeeded', 'succeeded'],
      ['web-02', 'succeeded', 'succeeded'],
    ]);
    const list = HostListSchema.parse(
      await (await api.request('GET', `/webserver/centralized-certificates/${id}/hosts`)).json(),
    );
    expect(list.hosts.every((h) => h.status === 'applied' && h.applied_generation === 1)).toBe(true);
  });

  it("logs what a request did through its invocation's log, with the function and the ccs-id", async () => {
    const id = newId();
    await enrol(id, ['web-01']);
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    const operationId = res.headers.get('operation-location')!.split('/').pop();
    const lines = api.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'operation transition',
        via: 'start-preflight',
        function: 'enableCentralizedCertificates',
        ccsId: id,
        operationId,
      }),
    );
  });

  it('changes nothing anywhere when one host fails preflight', async () => {
    const id = newId();
    const [a, b] = await enrol(id, ['web-01', 'web-02']);
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    const opUrl = res.headers.get('operation-location')!.replace(/^\/api/, '');
    await a!.answer((await a!.commands())[0]!);
    await b!.answer((await b!.commands())[0]!, {
      name: 'identity',
      code: 'CannotAccessStore',
      detail: 'Cannot access certificate store',
      status: 400,
    });
    await api.drainReports();
    const op = OperationSchema.parse(await (await api.request('GET', opUrl)).json());
    expect(op.status).toBe('Failed');
    expect(op.error).toMatchObject({ target: 'identity', status: 400 });
    expect((await api.request('GET', `/webserver/centralized-certificates/${id}`)).status).toBe(404);
    expect(await a!.commands()).toEqual([]);
  });

  it('puts only codes it documents in x-ms-error-code, and refuses a report whose code is not a token', async () => {
    const id = newId();
    const [host] = await enrol(id, ['web-01']);
    // A code with CR/LF would split the header: the report is refused at the schema (poison).
    const hostile = { name: 'identity', code: 'Oops\r\nSet-Cookie: a=b', detail: 'x', status: 400 };
    expect(ResultReportSchema.shape.error.safeParse(hostile).success).toBe(false);
    // A well-formed code the API does not document reaches the body, never the header.
    const answered = api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
      headers: { Prefer: 'wait=10' },
    });
    const [preflight] = await waitForCommands(host!);
    await host!.answer(preflight!, {
      name: 'identity',
      code: 'NewerAgentCode',
      detail: 'Something new',
      status: 400,
    });
    await api.drainReports();
    const res = await answered;
    expect(res.status).toBe(400);
    expect(res.headers.get('x-ms-error-code')).toBe('HostFailed');
    expect(await res.json()).toMatchObject({ name: 'identity', detail: 'Something new' });
    const op = OperationSchema.parse(
      await (await api.request('GET', res.headers.get('operation-location')!.replace(/^\/api/, ''))).json(),
    );
    expect(op.error).toMatchObject({ code: 'NewerAgentCode' });
  });

  it('marks silent hosts unreachable after the preflight timeout and commits for the rest', async () => {
    const id = newId();
    const [a] = await enrol(id, ['web-01', 'web-02']);
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    const opUrl = res.headers.get('operation-location')!.replace(/^\/api/, '');
    await a!.answer((await a!.commands())[0]!);
    await api.drainReports();
    await new Promise((r) => setTimeout(r, 2_200));
    const op = OperationSchema.parse(await (await api.request('GET', opUrl)).json());
    expect(op.phase).toBe('apply');
    expect(op.hosts.find((h) => h.name === 'web-02')?.preflight).toBe('unreachable');
    expect((await api.request('GET', `/webserver/centralized-certificates/${id}`)).status).toBe(200);
  });

  it('sends the current desired state to a host that enrols late', async () => {
    const id = newId();
    await api.request('POST', `/webserver/centralized-certificates/${id}`, { body: enableBody() });
    const [late] = await enrol(id, ['web-09']);
    const commands = await late!.commands();
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({
      type: 'apply',
      generation: 1,
      desired: { enabled: true, path: '\\\\fileserver\\ccs' },
    });
  });

  it('never puts a secret value in a table row, queue message, response or log', async () => {
    const id = newId();
    const [host] = await enrol(id, ['web-01']);
    const res = await api.request('POST', `/webserver/centralized-certificates/${id}`, {
      body: enableBody(),
    });
    const seen: string[] = [await res.text()];
    for (const cmd of await host!.commands()) {
      seen.push(JSON.stringify(cmd));
      await host!.answer(cmd);
    }
    await api.drainReports();
    for (const table of ['ccsstate', 'ccshosts', 'ccsoperations']) {
      for await (const row of api.storage.table(table).listEntities()) seen.push(JSON.stringify(row));
    }
    seen.push(...api.logs);
    const haystack = seen.join('\n');
    expect(haystack).toContain(id);
    expect(haystack).not.toContain(SHARE_PASSWORD);
    expect(haystack).not.toContain(KEY_PASSWORD);
  });
});
