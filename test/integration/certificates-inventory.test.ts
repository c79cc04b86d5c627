/**
 * The certificates API over a simulated fleet: the real HTTP host and handlers, Azurite, the
 * local Key Vault, and two real agents (in-process, wired as agent/main.ts wires them) with the
 * simulated backend reading a share of fixture PFX files. A pump folds reports and runs the
 * inventory scheduler, as the Function App's queue trigger and timer do.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShareAccount } from '../../agent/backends/simulated.js';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent, type WiredAgent } from '../../agent/wiring.js';
import { certificateIdOf, storeIdOf } from '../../shared/certificates/rules.js';
import { ErrorBodySchema } from '../../functions/openapi/response-schemas.js';
import {
  CertificateListSchema,
  CertificateSchema,
  StoreListSchema,
  StoreSchema,
} from '../../functions/openapi/certificate-schemas.js';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { FIXTURE_PASSWORD, fixturePath } from '../support/pfx-fixtures.js';

const PASSWORD = FIXTURE_PASSWORD;
const CCS_ID = `inv${process.pid % 1000}`;
const RESOURCE = `/webserver/centralized-certificates/${CCS_ID}`;

let api: ApiHarness;
let root: string;
let folder: string;
let sharePassword: string;
const agents = new Map<string, { wired: WiredAgent; done: Promise<void> }>();
let pump: NodeJS.Timeout | undefined;

/** The share: the fixtures under CCS names, plus files with each problem. */
const SHARE: Record<string, string | Buffer> = {
  'www.contoso.com.pfx': 'aes256/www.contoso.com.pfx',
  '_.contoso.com.pfx': 'legacy/_.contoso.com.pfx',
  'expired.contoso.com.pfx': '3des/expired.contoso.com.pfx',
  'api.contoso.com.pfx': '3des/api.contoso.com.pfx',
  'shop.contoso.com.pfx': 'empty-password/www.contoso.com.pfx',
  'mismatch.contoso.com.pfx': '3des/www.contoso.com.pfx',
  'broken.contoso.com.pfx': Buffer.from('this is not a pfx'),
};

async function startHost(host: string, osVersion?: string): Promise<void> {
  const dir = join(root, 'hosts', host);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'agent.json');
  await writeFile(
    file,
    JSON.stringify({
      ccsId: CCS_ID,
      hostName: host,
      storage: { connectionString: api.azurite.connectionString },
      keyVault: { url: api.vault.url, caCertFile: api.vault.caCertPath, localToken: api.agentVaultToken },
      backend: 'simulated',
      // Enrolled as an operator enrols a new server (issue 17): a one-time code from the API.
      enrolmentCode: await api.enrolmentCode(CCS_ID),
      allowedLocations: [{ path: '\\\\localhost\\ccs', claims: ['read'] }],
      stateDir: 'state',
      simulated: { stateDir: 'iis', shareRoot: join(root, 'shares'), ...(osVersion ? { osVersion } : {}) },
      pollMinSeconds: 0.05,
      pollMaxSeconds: 0.2,
      helloIntervalSeconds: 1,
      driftIntervalSeconds: 60,
      visibilityTimeoutSeconds: 5,
    }),
  );
  const config = loadAgentConfig({ file, env: {} });
  const wired = await createAgent(config, { write: () => {} });
  agents.set(host, { wired, done: wired.agent.run() });
}

async function stopHost(host: string): Promise<void> {
  const agent = agents.get(host);
  if (!agent) return;
  agent.wired.agent.stop();
  await agent.done;
  agents.delete(host);
}

/** What the Function App does on its own: fold reports (queue trigger) and schedule scans (timer). */
function startPump(): void {
  let busy = false;
  pump = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        await api.drainReports();
        await api.app.inventory.tick();
        await api.drainReports();
      } catch {
        // the next beat retries
      } finally {
        busy = false;
      }
    })();
  }, 100);
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const list = async (query = '', headers: Record<string, string> = {}) => {
  const res = await api.request('GET', `/certificates${query}`, { headers });
  expect(res.status).toBe(200);
  return CertificateListSchema.parse(await readJson(res)).certificates;
};

const enable = () =>
  api.request('POST', RESOURCE, {
    body: {
      path: '\\\\localhost\\ccs',
      identity: { username: 'LOCALHOST\\reader', password: sharePassword },
      private_key_password: PASSWORD,
    },
    headers: { Prefer: 'wait=20' },
  });

beforeAll(async () => {
  api = await startApiHarness({ env: { CCS_INVENTORY_INTERVAL_SECONDS: '1' } });
  root = await mkdtemp(join(tmpdir(), 'ccs-inventory-'));
  folder = join(root, 'shares', 'ccs');
  await mkdir(folder, { recursive: true });
  for (const [name, source] of Object.entries(SHARE)) {
    if (typeof source === 'string') await copyFile(fixturePath(source), join(folder, name));
    else await writeFile(join(folder, name), source);
  }
  sharePassword = `share-${randomUUID()}`;
  await createShareAccount(join(root, 'shares'), 'LOCALHOST\\reader', sharePassword, ['ccs']);
  startPump();
  await startHost('web-01');
  await startHost('web-02', '10.0.14393'); // plays Windows Server 2016
  await until('both hosts enrolled', async () => (await api.stores.hosts.list(CCS_ID)).length === 2);
}, 60_000);

afterAll(async () => {
  if (pump) clearInterval(pump);
  await Promise.all([...agents.keys()].map(stopHost));
  await api?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the certificates API over the inventory of a simulated fleet', () => {
  it('has no store while CCS is not enabled', async () => {
    const stores = StoreListSchema.parse(await readJson(await api.request('GET', '/certificates/stores')));
    expect(stores.stores.map((s) => s.ccs_id)).not.toContain(CCS_ID);
    expect((await api.request('GET', `/certificates?store.id=${storeIdOf(CCS_ID)}`)).status).toBe(404);
  });

  it('lists every file of the share shortly after enabling, problems included', async () => {
    const res = await enable();
    expect(res.status).toBe(200);
    const storeId = storeIdOf(CCS_ID);
    const certificates = await until('the inventory', async () => {
      const found = await list(`?store.id=${storeId}`);
      return found.length === Object.keys(SHARE).length && found;
    });
    expect(certificates.map((c) => c.alias)).toEqual([
      '_.contoso.com.pfx',
      'api.contoso.com.pfx',
      'broken.contoso.com.pfx',
      'expired.contoso.com.pfx',
      'mismatch.contoso.com.pfx',
      'shop.contoso.com.pfx',
      'www.contoso.com.pfx',
    ]);
    const byAlias = new Map(certificates.map((c) => [c.alias, c]));
    const problems = (alias: string) => byAlias.get(alias)?.problems?.map((p) => p.code);
    expect(problems('_.contoso.com.pfx')).toEqual([]);
    expect(problems('api.contoso.com.pfx')).toEqual([]);
    expect(problems('expired.contoso.com.pfx')).toEqual(['expired']);
    expect(problems('mismatch.contoso.com.pfx')).toEqual(['name_mismatch']);
    expect(problems('shop.contoso.com.pfx')).toEqual(['wrong_password']);
    expect(problems('broken.contoso.com.pfx')).toEqual(['unreadable']);
    // AES-encrypted, and web-02 reports Windows Server 2016.
    expect(problems('www.contoso.com.pfx')).toEqual(['encryption_unsupported_by_hosts']);
    expect(byAlias.get('www.contoso.com.pfx')?.problems?.[0]?.detail).toContain('web-02');

    const www = byAlias.get('www.contoso.com.pfx')!;
    expect(Object.keys(www).sort()).toEqual(
      [
        '_links',
        'alias',
        'expires_in_days',
        'id',
        'issued_by',
        'problems',
        // The Key Vault certificate a file was published from (null: the publisher did not write it).
        'source',
        'store',
        'subject',
        'thumbprint',
        'valid_to',
      ].sort(),
    );
    expect(www).toMatchObject({
      id: certificateIdOf(CCS_ID, 'www.contoso.com.pfx'),
      subject: 'CN=www.contoso.com, O=Contoso Fixtures, C=US',
      issued_by: 'CN=Contoso Fixture Test CA, O=Contoso Fixtures, C=US',
      thumbprint: 'DAD07E2FFE5B8CA5E7EC82242072A2B1477D6D51',
      valid_to: '2045-01-01T00:00:00Z',
      store: { name: 'IIS Central Certificate Store', id: storeId },
      _links: { self: { href: `/api/certificates/${www.id}` } },
    });
    expect(www.expires_in_days).toBeGreaterThan(6000);
    // A file the password does not open is listed, with what can be known.
    expect(byAlias.get('shop.contoso.com.pfx')).toMatchObject({
      thumbprint: null,
      subject: null,
      valid_to: null,
    });
  });

  it('shows one store per enabled ccs-id, in the IIS Administration shape', async () => {
    const stores = StoreListSchema.parse(await readJson(await api.request('GET', '/certificates/stores')));
    const store = stores.stores.find((s) => s.ccs_id === CCS_ID)!;
    expect(store).toMatchObject({
      name: 'IIS Central Certificate Store',
      id: storeIdOf(CCS_ID),
      claims: ['read'],
      path: '\\\\localhost\\ccs',
      _links: { self: { href: `/api/certificates/stores/${storeIdOf(CCS_ID)}` } },
    });
    const one = StoreSchema.parse(
      await readJson(await api.request('GET', `/certificates/stores/${store.id}`)),
    );
    expect(one.inventory).toMatchObject({ status: 'current', files: 7, error: null });
    expect(['web-01', 'web-02']).toContain(one.inventory.scanner);
    expect((await api.request('GET', '/certificates/stores/nope')).status).toBe(404);
  });

  it('returns the full model with fields=* and for one certificate', async () => {
    const full = await list(`?store.id=${storeIdOf(CCS_ID)}&fields=*`);
    const api1 = full.find((c) => c.alias === 'api.contoso.com.pfx')!;
    expect(api1).toMatchObject({
      signature_algorithm: 'sha256RSA',
      valid_from: '2025-01-01T00:00:00Z',
      version: '3',
      intended_purposes: ['Server Authentication'],
      subject_alternative_names: [
        'DNS Name=api.contoso.com',
        'DNS Name=api.internal.contoso.com',
        'DNS Name=contoso.net',
        'IP Address=10.0.0.5',
        'IP Address=2001:DB8:0:0:0:0:0:5',
      ],
      private_key: { exportable: true, algorithm: 'EC', key_size: 256, curve: 'P-256' },
      pfx: { certificate_encryption: 'pbe-sha1-3des', key_encryption: 'pbe-sha1-3des', mac: 'sha1' },
    });
    const res = await api.request('GET', `/certificates/${api1.id}`, { token: api.readToken });
    expect(res.status).toBe(200);
    const one = CertificateSchema.parse(await readJson(res));
    expect(one).toEqual(api1);
    const narrow = await readJson(
      await api.request('GET', `/certificates/${api1.id}?fields=alias,thumbprint`),
    );
    expect(Object.keys(narrow).sort()).toEqual(['_links', 'alias', 'id', 'thumbprint']);
    const missing = await api.request('GET', `/certificates/${certificateIdOf(CCS_ID, 'nope.pfx')}`);
    expect(missing.status).toBe(404);
    expect(ErrorBodySchema.parse(await readJson(missing)).name).toBe('id');
  });

  it('answers HEAD with X-Total-Count and serves Range: certificates=a-b in a stable order', async () => {
    const query = `?store.id=${storeIdOf(CCS_ID)}`;
    const head = await api.request('HEAD', `/certificates${query}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('x-total-count')).toBe('7');
    expect(await head.text()).toBe('');
    const all = await list(query);
    const res = await api.request('GET', `/certificates${query}`, { headers: { Range: 'certificates=2-4' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-range')).toBe('certificates 2-4/7');
    expect(res.headers.get('x-total-count')).toBe('7');
    const slice = CertificateListSchema.parse(await readJson(res)).certificates;
    expect(slice.map((c) => c.id)).toEqual(all.slice(2, 5).map((c) => c.id));
    const tail = await list(query, { Range: 'certificates=5-99' });
    expect(tail.map((c) => c.id)).toEqual(all.slice(5).map((c) => c.id));
    const beyond = await api.request('GET', `/certificates${query}`, {
      headers: { Range: 'certificates=7-9' },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('certificates */7');
  });

  it('filters by expiring_within and refuses a bad value with 400', async () => {
    const query = `?store.id=${storeIdOf(CCS_ID)}`;
    expect((await list(`${query}&expiring_within=30`)).map((c) => c.alias)).toEqual([
      'expired.contoso.com.pfx',
    ]);
    expect(await list(`${query}&expiring_within=7400`)).toHaveLength(5);
    const bad = await api.request('GET', `/certificates${query}&expiring_within=soon`);
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(await readJson(bad)).name).toBe('expiring_within');
    expect((await api.request('GET', '/certificates?store.id=unknown')).status).toBe(404);
  });

  it('follows changes of the share: deletions, renames and new files; ids stay stable', async () => {
    const before = await list(`?store.id=${storeIdOf(CCS_ID)}`);
    await rm(join(folder, 'broken.contoso.com.pfx'));
    await rename(join(folder, 'mismatch.contoso.com.pfx'), join(folder, 'www2.contoso.com.pfx'));
    await copyFile(fixturePath('aes128/www.contoso.com.pfx'), join(folder, 'new.contoso.com.pfx'));
    const after = await until('the rescan', async () => {
      const found = await list(`?store.id=${storeIdOf(CCS_ID)}&fields=*`);
      const aliases = found.map((c) => c.alias);
      return aliases.includes('new.contoso.com.pfx') && !aliases.includes('broken.contoso.com.pfx') && found;
    });
    expect(after.map((c) => c.alias)).toEqual([
      '_.contoso.com.pfx',
      'api.contoso.com.pfx',
      'expired.contoso.com.pfx',
      'new.contoso.com.pfx',
      'shop.contoso.com.pfx',
      'www.contoso.com.pfx',
      'www2.contoso.com.pfx',
    ]);
    const renamed = after.find((c) => c.alias === 'www2.contoso.com.pfx')!;
    expect(renamed.file?.renamed_from).toBe('mismatch.contoso.com.pfx');
    expect(renamed.problems?.map((p) => p.code)).toEqual(['name_mismatch']);
    const unchanged = (alias: string) => [before, after].map((l) => l.find((c) => c.alias === alias)?.id);
    expect(new Set(unchanged('api.contoso.com.pfx')).size).toBe(1);
    const oldId = before.find((c) => c.alias === 'mismatch.contoso.com.pfx')!.id;
    expect((await api.request('GET', `/certificates/${oldId}`)).status).toBe(404);
  });

  it('hands the scanner lease to the other host when the scanner stops', async () => {
    const store = async () =>
      StoreSchema.parse(
        await readJson(await api.request('GET', `/certificates/stores/${storeIdOf(CCS_ID)}`)),
      );
    const scanner = (await store()).inventory.scanner!;
    const other = scanner === 'web-01' ? 'web-02' : 'web-01';
    await stopHost(scanner);
    await until('the hand-over', async () => (await store()).inventory.scanner === other, 20_000);
    await until('a full scan by the new scanner', async () => (await store()).inventory.status === 'current');
    await copyFile(fixturePath('legacy/www.contoso.com.pfx'), join(folder, 'later.contoso.com.pfx'));
    await until('the new scanner to see a new file', async () =>
      (await list(`?store.id=${storeIdOf(CCS_ID)}`)).some((c) => c.alias === 'later.contoso.com.pfx'),
    );
    await startHost(scanner);
  }, 40_000);

  it('drops the store when CCS is disabled and brings it back, same ids, when enabled again', async () => {
    const before = await list(`?store.id=${storeIdOf(CCS_ID)}`);
    const disabled = await api.request('DELETE', RESOURCE, { headers: { Prefer: 'wait=20' } });
    expect(disabled.status).toBe(204);
    const stores = StoreListSchema.parse(await readJson(await api.request('GET', '/certificates/stores')));
    expect(stores.stores.map((s) => s.ccs_id)).not.toContain(CCS_ID);
    expect((await api.request('GET', `/certificates?store.id=${storeIdOf(CCS_ID)}`)).status).toBe(404);
    expect((await list()).filter((c) => c.store?.id === storeIdOf(CCS_ID))).toEqual([]);
    expect((await api.request('GET', `/certificates/${before[0]!.id}`)).status).toBe(404);

    expect((await enable()).status).toBe(200);
    const back = await until('the store back', async () => {
      const found = await list(`?store.id=${storeIdOf(CCS_ID)}`);
      return found.length === before.length && found;
    });
    expect(back.map((c) => c.id)).toEqual(before.map((c) => c.id));
  }, 40_000);

  it('never leaks the private-key password into a table row, a report or a log line', async () => {
    const rows: string[] = [];
    for await (const row of api.storage.table('ccsinventory').listEntities()) rows.push(JSON.stringify(row));
    const all = rows.join('\n') + api.logs.join('\n');
    expect(all).toContain('www.contoso.com.pfx');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(sharePassword);
  });
});
