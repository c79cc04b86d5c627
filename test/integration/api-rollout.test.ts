/**
 * Rollouts over HTTP (issue 19): the policy routes, the per-request `rollout` member, waves on
 * enrolled hosts, 409 during a rollout, resume and rollback — against the real handlers, Table
 * storage on Azurite and the queues, every response checked against the OpenAPI document.
 * Hosts are scripted (FakeHost); the serving gate with real TLS is in the end-to-end test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLogSchema,
  ErrorBodySchema,
  OperationSchema,
} from '../../functions/openapi/response-schemas.js';
import { RolloutPolicySchema } from '../../functions/openapi/rollout-schemas.js';
import type { Command } from '../../shared/messages.js';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { FakeHost } from '../support/fake-host.js';

let api: ApiHarness;
let counter = 0;
const newId = () => `r${process.pid % 1000}-${++counter}`;
const route = (id: string) => `/webserver/centralized-certificates/${id}`;
const enableBody = {
  path: '\\\\fileserver\\ccs',
  identity: { username: 'CONTOSO\\ccs-reader', password: 'share-Pa55-rollout' },
  private_key_password: 'key-Pa55-rollout',
};

beforeAll(async () => {
  api = await startApiHarness({ preflightTimeoutSeconds: 2 });
});
afterAll(async () => {
  await api?.close();
});

async function enrol(id: string, names: string[]): Promise<FakeHost[]> {
  const hosts = await Promise.all(
    names.map(async (n) => new FakeHost(api.storage, id, n, await api.enrolmentCode(id))),
  );
  await Promise.all(hosts.map((h) => h.hello()));
  await api.drainReports();
  return hosts;
}

/** Every host answers every pending command (`fail`: the apply of these hosts fails). */
async function answerAll(hosts: FakeHost[], fail: string[] = []): Promise<Command[]> {
  const seen: Command[] = [];
  for (const host of hosts) {
    for (const command of await host.commands()) {
      seen.push(command);
      const error =
        command.type === 'apply' && fail.includes(host.host)
          ? { name: 'path', code: 'ApplyFailed', detail: 'IIS refused the settings', status: 409 }
          : null;
      await host.answer(command, error);
    }
  }
  await api.drainReports();
  return seen;
}

async function operation(href: string) {
  const res = await api.request('GET', href.replace(/^\/api/, ''));
  expect(res.status).toBe(200);
  return OperationSchema.parse(await readJson(res));
}

describe('the rollout policy of a ccs-id', () => {
  it('is the default until set, and a PUT replaces it (omitted members take the default)', async () => {
    const id = newId();
    const first = RolloutPolicySchema.parse(await readJson(await api.request('GET', `${route(id)}/rollout`)));
    expect(first).toMatchObject({ canary: null, max_concurrency: null, max_errors: 0, default: true });
    const put = await api.request('PUT', `${route(id)}/rollout`, {
      body: { canary: 1, max_concurrency: '25%', bake_seconds: 30, auto_rollback: true },
    });
    expect(put.status).toBe(200);
    expect(RolloutPolicySchema.parse(await readJson(put))).toMatchObject({
      canary: 1,
      max_concurrency: '25%',
      max_errors: 0,
      bake_seconds: 30,
      auto_rollback: true,
      default: false,
    });
    const reset = await api.request('PUT', `${route(id)}/rollout`, { body: {} });
    expect(RolloutPolicySchema.parse(await readJson(reset)).default).toBe(true);
  });

  it('refuses a bad policy with a 400 naming the field, and changes nothing', async () => {
    const id = newId();
    for (const [body, field] of [
      [{ max_concurrency: '150%' }, 'max_concurrency'],
      [{ canary: ['bad name'] }, 'canary.0'],
      [{ bake_seconds: -1 }, 'bake_seconds'],
      [{ surprise: true }, 'surprise'],
    ] as const) {
      const res = await api.request('PUT', `${route(id)}/rollout`, { body });
      expect(res.status).toBe(400);
      expect(ErrorBodySchema.parse(await readJson(res)).name).toBe(field);
    }
    const bad = await api.request('POST', route(id), { body: { ...enableBody, rollout: { canary: 'one' } } });
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(await readJson(bad)).name).toBe('rollout.canary');
    expect(await api.stores.desired.get(id)).toBeNull();
    expect(await api.stores.rollouts.get(id)).toBeNull();
  });

  it('takes the write role to set, the read role to read', async () => {
    const id = newId();
    expect(
      (await api.request('PUT', `${route(id)}/rollout`, { body: {}, token: api.readToken })).status,
    ).toBe(403);
    expect((await api.request('GET', `${route(id)}/rollout`, { token: api.readToken })).status).toBe(200);
  });
});

describe('a change rolled out in waves', () => {
  it('applies to the canary first, then each wave; a second change meanwhile is 409', async () => {
    const id = newId();
    const hosts = await enrol(id, ['web-01', 'web-02', 'web-03']);
    const res = await api.request('POST', route(id), {
      body: { ...enableBody, rollout: { canary: ['web-02'], max_concurrency: 1 } },
    });
    expect(res.status).toBe(202);
    const href = res.headers.get('operation-location')!;
    await answerAll(hosts); // preflight
    await api.app.operations.advance(href.split('/').pop()!);
    expect((await answerAll(hosts)).map((c) => [c.type, c.host])).toEqual([['apply', 'web-02']]);

    const during = await api.request('PATCH', route(id), { body: { path: 'C:\\certs' } });
    expect(during.status).toBe(409);
    const refusal = ErrorBodySchema.parse(await readJson(during));
    expect(refusal).toMatchObject({ name: 'id' });
    expect(refusal.detail).toContain(href.split('/').pop());

    expect((await answerAll(hosts)).map((c) => c.host)).toEqual(['web-01']);
    expect((await answerAll(hosts)).map((c) => c.host)).toEqual(['web-03']);
    const op = await operation(href);
    expect(op).toMatchObject({ status: 'Succeeded', rollout: { state: 'succeeded', error_count: 0 } });
    expect(op.rollout!.waves.map((w) => w.hosts)).toEqual([1, 1, 1]);
    expect(op.rollout!.waves.every((w) => w.started !== null && w.settled !== null)).toBe(true);
    expect(op.hosts.map((h) => [h.name, h.wave])).toEqual([
      ['web-01', 1],
      ['web-02', 0],
      ['web-03', 2],
    ]);
  });

  it('halts on a failed canary; resume goes on, and only a halted rollout takes a request', async () => {
    const id = newId();
    const hosts = await enrol(id, ['web-01', 'web-02']);
    await api.request('PUT', `${route(id)}/rollout`, { body: { canary: 1 } });
    const href = (await api.request('POST', route(id), { body: enableBody })).headers.get(
      'operation-location',
    )!;
    const opId = href.split('/').pop()!;
    await answerAll(hosts);
    await api.app.operations.advance(opId);
    await answerAll(hosts, ['web-01']);
    const halted = await operation(href);
    expect(halted).toMatchObject({ status: 'Running', phase: 'halted', rollout: { state: 'halted' } });
    expect(halted.rollout!.errors).toEqual([
      expect.objectContaining({ host: 'web-01', reason: 'apply_failed', wave: 0 }),
    ]);

    const readOnly = await api.request('POST', `/operations/${opId}/resume`, { token: api.readToken });
    expect(readOnly.status).toBe(403);
    const resume = await api.request('POST', `/operations/${opId}/resume`);
    expect(resume.status).toBe(202);
    expect(OperationSchema.parse(await readJson(resume))).toMatchObject({
      phase: 'waves',
      rollout: { current_wave: 1 },
    });
    const again = await api.request('POST', `/operations/${opId}/rollback`);
    expect(again.status).toBe(409);
    const audit = AuditLogSchema.parse(await readJson(await api.request('GET', `/audit?ccs_id=${id}`)));
    expect(audit.entries.map((e) => [e.operation?.kind, e.who])).toContainEqual([
      'rollout.resume',
      'access-token:writer',
    ]);
    await answerAll(hosts);
    expect(await operation(href)).toMatchObject({ status: 'Succeeded', rollout: { accepted_errors: 1 } });
    const missing = await api.request('POST', '/operations/00000000-0000-0000-0000-000000000000/resume');
    expect(missing.status).toBe(404);
  });

  it('rolls back: a new generation equal to the old state, sent to the changed hosts only', async () => {
    const id = newId();
    const hosts = await enrol(id, ['web-01', 'web-02', 'web-03']);
    const enable = (await api.request('POST', route(id), { body: enableBody })).headers.get(
      'operation-location',
    )!;
    await answerAll(hosts);
    await api.app.operations.advance(enable.split('/').pop()!);
    await answerAll(hosts);
    expect(await operation(enable)).toMatchObject({ status: 'Succeeded' });

    const res = await api.request('PATCH', route(id), {
      body: { path: 'C:\\certs', rollout: { canary: 1, max_concurrency: 1, auto_rollback: true } },
    });
    const href = res.headers.get('operation-location')!;
    await answerAll(hosts);
    await api.app.operations.advance(href.split('/').pop()!);
    await answerAll(hosts, ['web-01']);
    const rollback = (await answerAll(hosts)).filter((c) => c.type === 'apply');
    expect(rollback.map((c) => [c.host, c.generation, c.desired.path])).toEqual([
      ['web-01', 3, '\\\\fileserver\\ccs'],
    ]);
    const op = await operation(href);
    expect(op).toMatchObject({
      status: 'Failed',
      error: { code: 'RolledBack' },
      rollout: { state: 'rolled_back', rollback: { generation: 3, by: 'auto_rollback', hosts: 1 } },
    });
    expect((await api.stores.desired.get(id))!.record).toMatchObject({
      generation: 3,
      desired: { path: '\\\\fileserver\\ccs' },
    });
    // The hosts of later waves never received the change, nor the rollback.
    expect(hosts[1]!.appliedGeneration).toBe(1);
    const audit = AuditLogSchema.parse(await readJson(await api.request('GET', `/audit?ccs_id=${id}`)));
    expect(audit.entries.filter((e) => e.operation).map((e) => e.operation?.kind)).toEqual([
      'update',
      'enable',
    ]);
  });

  it('stops a running rollout when the ccs-id is deleted, then disables', async () => {
    const id = newId();
    const hosts = await enrol(id, ['web-01', 'web-02']);
    const href = (
      await api.request('POST', route(id), {
        body: { ...enableBody, rollout: { canary: 1, bake_seconds: 3600 } },
      })
    ).headers.get('operation-location')!;
    await answerAll(hosts);
    await api.app.operations.advance(href.split('/').pop()!);
    await answerAll(hosts);
    expect(await operation(href)).toMatchObject({ rollout: { state: 'paused' } });
    const del = await api.request('DELETE', route(id));
    expect(del.status).toBe(202);
    expect(await operation(href)).toMatchObject({ status: 'Canceled', rollout: { state: 'canceled' } });
  });
});
