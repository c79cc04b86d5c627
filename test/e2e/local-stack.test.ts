import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';
import { readStoredPasswordsForTests, setRegistryByHand } from '../../agent/backends/simulated.js';
import { readJson } from '../support/api-harness.js';
import { CentralizedCertificatesSchema, HostListSchema } from '../../functions/openapi/response-schemas.js';

const SEED_404 =
  '{"title":"Not found","detail":"IIS feature not installed","name":"IIS Central Certificate Store","status":404}';
let stack: StackProcess;
const resource = () => `/webserver/centralized-certificates/${stack.info.ccsId}`;
const enableBody = (overrides: { password?: string; privateKeyPassword?: string; path?: string } = {}) => ({
  path: overrides.path ?? stack.info.share.path,
  identity: {
    username: stack.info.share.username,
    password: overrides.password ?? stack.info.share.password,
  },
  private_key_password: overrides.privateKeyPassword ?? stack.info.share.privateKeyPassword,
});
const wait = { Prefer: 'wait=30' };

beforeAll(async () => {
  stack = await startStackProcess();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('npm start: the local stack as a newcomer meets it', () => {
  it('writes stack.json with mode 0600 and the documented keys', () => {
    const file = join(stack.dir, 'stack.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys(stack.info).sort()).toEqual(
      [
        'accessToken',
        'api',
        'ccsId',
        'hosts',
        'keyVault',
        'logs',
        'readOnlyToken',
        'share',
        'storage',
      ].sort(),
    );
    expect(stack.info.hosts).toEqual(['web-01', 'web-02']);
  });

  it('refuses a wrong share password with 400 identity and leaves CCS not enabled', async () => {
    const res = await stack.request('POST', resource(), {
      body: enableBody({ password: 'not-the-password' }),
      headers: wait,
    });
    expect(res.status).toBe(400);
    expect(await readJson(res)).toMatchObject({
      name: 'identity',
      detail: 'Cannot access certificate store',
    });
    const get = await stack.request('GET', resource());
    expect(get.status).toBe(404);
    expect(await get.text()).toBe(SEED_404);
  });

  it('refuses a wrong private-key password with 400 private_key_password', async () => {
    const res = await stack.request('POST', resource(), {
      body: enableBody({ privateKeyPassword: 'wrong' }),
      headers: wait,
    });
    expect(res.status).toBe(400);
    expect((await readJson(res)).name).toBe('private_key_password');
  });

  it('enables CCS on both hosts and answers 200 once they applied', async () => {
    const res = await stack.request('POST', resource(), { body: enableBody(), headers: wait });
    expect(res.status).toBe(200);
    const body = CentralizedCertificatesSchema.parse(await readJson(res));
    expect(body).toMatchObject({ status: 'converged', hosts: { total: 2, applied: 2 } });
    const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
    expect(hosts.hosts.map((h) => [h.name, h.status, h.applied_generation, h.actual?.enabled])).toEqual([
      ['web-01', 'applied', body.generation, true],
      ['web-02', 'applied', body.generation, true],
    ]);
  });

  it('rotates the private-key password on every host as a new Key Vault version', async () => {
    const before = await readJson(await stack.request('GET', resource()));
    // The demo account accepts one password, so rotate the private-key password to the same value:
    // still a new secret version, a new generation and a re-apply on every host.
    const res = await stack.request('PATCH', resource(), {
      body: { private_key_password: stack.info.share.privateKeyPassword },
      headers: wait,
    });
    expect(res.status).toBe(200);
    const after = await readJson(res);
    expect(after.generation).toBe(before.generation + 1);
    for (const host of stack.info.hosts) {
      const stored = await readStoredPasswordsForTests(join(stack.dir, 'agents', host, 'registry'));
      expect(stored).toEqual({
        password: stack.info.share.password,
        privateKeyPassword: stack.info.share.privateKeyPassword,
      });
    }
  });

  it('repairs drift when someone changes IIS by hand, and reports it', async () => {
    await setRegistryByHand(join(stack.dir, 'agents', 'web-02', 'registry'), { Enabled: 0 });
    const deadline = Date.now() + 20_000;
    let web02: { actual: { enabled: boolean } | null; last_drift: string | null } | undefined;
    while (Date.now() < deadline) {
      const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
      web02 = hosts.hosts.find((h) => h.name === 'web-02');
      if (web02?.last_drift && web02.actual?.enabled) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(web02?.last_drift).toBeTruthy();
    expect(web02?.actual?.enabled).toBe(true);
  });

  it('answers 404 path for a directory that does not exist, and changes nothing', async () => {
    const before = await readJson(await stack.request('GET', resource()));
    const res = await stack.request('PATCH', resource(), {
      body: { path: `${stack.info.share.path}\\missing` },
      headers: wait,
    });
    expect(res.status).toBe(404);
    expect((await readJson(res)).name).toBe('path');
    const after = await readJson(await stack.request('GET', resource()));
    expect(after.generation).toBe(before.generation);
    expect(after.path).toBe(before.path);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await readJson(
      await stack.request('GET', '/openapi.json', { token: stack.info.readOnlyToken }),
    );
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/webserver/centralized-certificates/{ccsId}');
  });

  it('disables CCS on every host (204) and erases the credentials there', async () => {
    // The demo sites use CCS, so DELETE needs force (the 409 without it: test/e2e/coverage.test.ts).
    const res = await stack.request('DELETE', `${resource()}?force=true`, { headers: wait });
    expect(res.status).toBe(204);
    const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
    for (const host of hosts.hosts) {
      expect(host.actual).toMatchObject({ enabled: false, username: null });
      expect(host.status).toBe('applied');
    }
  });

  it('leaves no secret value in any log, table row or queue message', async () => {
    const secrets = [stack.info.share.password, stack.info.share.privateKeyPassword];
    const haystack: string[] = [];
    for (const file of readdirSync(stack.info.logs))
      haystack.push(readFileSync(join(stack.info.logs, file), 'utf8'));
    const conn = stack.info.storage.connectionString;
    for (const table of ['ccsstate', 'ccshosts', 'ccsoperations']) {
      const client = TableClient.fromConnectionString(conn, table, { allowInsecureConnection: true });
      for await (const row of client.listEntities()) haystack.push(JSON.stringify(row));
    }
    const queues = QueueServiceClient.fromConnectionString(conn);
    for await (const queue of queues.listQueues()) {
      const peeked = await queues.getQueueClient(queue.name).peekMessages({ numberOfMessages: 32 });
      for (const m of peeked.peekedMessageItems)
        haystack.push(Buffer.from(m.messageText, 'base64').toString('utf8'), m.messageText);
    }
    const all = haystack.join('\n');
    expect(all).toContain(stack.info.ccsId);
    for (const secret of secrets) expect(all).not.toContain(secret);
  });

  it('keeps its data across a restart', async () => {
    const enabled = await stack.request('POST', resource(), { body: enableBody(), headers: wait });
    expect(enabled.status).toBe(200);
    const generation = (await readJson(enabled)).generation as number;
    await stack.stop();
    stack = await startStackProcess(stack.dir);
    const get = await stack.request('GET', resource());
    expect(get.status).toBe(200);
    expect((await readJson(get)).generation).toBe(generation);
  }, 120_000);
});
