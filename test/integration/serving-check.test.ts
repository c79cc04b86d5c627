/**
 * The serving check against the simulated IIS: real TLS listeners, real handshakes with SNI, real
 * PFX files opened with the provider's private-key password, the real probe and thumbprints.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeSimulatedSites, type SimulatedSite } from '../../agent/backends/simulated-iis/sites-file.js';
import {
  createShareAccount,
  inetsrvConfigDir,
  setRegistryByHand,
  SimulatedBackend,
} from '../../agent/backends/simulated.js';
import { checkServing } from '../../agent/serving/check.js';
import { leafThumbprint } from '../../agent/serving/leaf.js';
import { tlsProbe } from '../../agent/serving/probe.js';
import { freePort } from '../../local/ports.js';
import type { CcsBinding, ServingResult } from '../../shared/messages.js';
import { FIXTURE_PASSWORD, fixturePath } from '../support/pfx-fixtures.js';

const WWW = 'DAD07E2FFE5B8CA5E7EC82242072A2B1477D6D51';
const WILDCARD = '3CC0DA6D29CFCCE54FC34FD61B828AF77CE62005';
const API = '8F661538D465917B2870A0F95F9356EC293F4856';

const STORE = { path: '\\\\localhost\\ccs', privateKeyPassword: FIXTURE_PASSWORD };

let root: string;
let shareRoot: string;
let share: string;
let backend: SimulatedBackend;
let port: number;
let clock: number;

async function ipv6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

async function sites(list: SimulatedSite[]): Promise<CcsBinding[]> {
  await writeSimulatedSites(inetsrvConfigDir(join(root, 'iis')), list);
  return backend.readBindings();
}

const check = (bindings: readonly CcsBinding[], timeoutMs = 5_000): Promise<ServingResult[]> =>
  checkServing(bindings, STORE, { backend, probe: tlsProbe, leafThumbprint, timeoutMs });

const byHost = (results: ServingResult[]) => Object.fromEntries(results.map((r) => [r.hostName, r]));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'serving-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  shareRoot = join(root, `shares-${Math.random().toString(36).slice(2)}`);
  share = join(shareRoot, 'ccs');
  await createShareAccount(shareRoot, 'CONTOSO\\svc-ccs', 'share-pw', ['ccs']);
  for (const name of ['www.contoso.com.pfx', '_.contoso.com.pfx', 'api.contoso.com.pfx']) {
    await copyFile(fixturePath(`aes256/${name}`), join(share, name));
  }
  clock = Date.parse('2026-06-01T10:00:00Z');
  backend = new SimulatedBackend({ stateDir: join(root, 'iis'), shareRoot, now: () => clock });
  await backend.apply({
    enabled: true,
    path: STORE.path,
    username: 'CONTOSO\\svc-ccs',
    password: 'share-pw',
    privateKeyPassword: FIXTURE_PASSWORD,
  });
  port = await freePort();
});

afterEach(async () => {
  await backend.close();
  await rm(join(root, 'iis'), { recursive: true, force: true });
});

describe('the simulated IIS serves its CCS bindings over real TLS', () => {
  it('exact file, wildcard file and an uncovered name: ok, ok, failed', async () => {
    const bindings = await sites([
      {
        name: 'Contoso',
        bindings: [
          { bindingInformation: `*:${port}:www.contoso.com` },
          { bindingInformation: `*:${port}:shop.contoso.com` },
          { bindingInformation: `*:${port}:www.fabrikam.com` },
        ],
      },
    ]);
    const results = byHost(await check(bindings));
    expect(results['www.contoso.com']).toMatchObject({
      status: 'ok',
      file: 'www.contoso.com.pfx',
      expected: WWW,
      served: WWW,
    });
    expect(results['shop.contoso.com']).toMatchObject({
      status: 'ok',
      file: '_.contoso.com.pfx',
      expected: WILDCARD,
      served: WILDCARD,
    });
    expect(results['www.fabrikam.com']).toMatchObject({
      status: 'failed',
      file: null,
      expected: null,
      served: null,
    });
    expect(results['www.fabrikam.com']!.detail).toMatch(
      /reset the connection.*the store has no file for www\.fabrikam\.com/,
    );
  });

  it('answers an HTTP request over the connection (what curl -k shows)', async () => {
    await sites([{ name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] }]);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, servername: 'www.contoso.com', path: '/', rejectUnauthorized: false },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toContain('www.contoso.com');
  });

  it('a share file replaced by another certificate: mismatch until the CCS polling interval passes', async () => {
    const bindings = await sites([
      { name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] },
    ]);
    expect((await check(bindings))[0]).toMatchObject({ status: 'ok', served: WWW });

    await copyFile(fixturePath('aes256/api.contoso.com.pfx'), join(share, 'www.contoso.com.pfx'));
    const stale = (await check(bindings))[0]!;
    expect(stale).toMatchObject({ status: 'mismatch', expected: API, served: WWW });
    expect(stale.detail).toMatch(/another certificate than www\.contoso\.com\.pfx/);

    clock += 301_000; // IIS's default PollingInterval is 300 s
    expect((await check(bindings))[0]).toMatchObject({ status: 'ok', expected: API, served: API });
  });

  it('a shorter PollingInterval in the registry picks a replaced file up sooner', async () => {
    await setRegistryByHand(join(root, 'iis'), { PollingInterval: 10 });
    const bindings = await sites([
      { name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] },
    ]);
    expect((await check(bindings))[0]).toMatchObject({ status: 'ok', served: WWW });
    await copyFile(fixturePath('aes256/api.contoso.com.pfx'), join(share, 'www.contoso.com.pfx'));
    clock += 11_000;
    expect((await check(bindings))[0]).toMatchObject({ status: 'ok', served: API });
  });

  it('a file the private-key password does not open fails the handshake (IIS never falls back to the wildcard)', async () => {
    await copyFile(
      fixturePath('empty-password/www.contoso.com.pfx'),
      join(share, 'other-password.contoso.com.pfx'),
    );
    const bindings = await sites([
      { name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:other-password.contoso.com` }] },
    ]);
    const [result] = await check(bindings);
    expect(result).toMatchObject({
      status: 'failed',
      file: 'other-password.contoso.com.pfx',
      expected: null,
      served: null,
    });
    expect(result!.detail).toMatch(/does not open with the store's private-key password/);
  });

  it('a misnamed wildcard file (no dot after the underscore) serves nothing', async () => {
    await copyFile(fixturePath('aes256/_.contoso.com.pfx'), join(share, '_fabrikam.com.pfx'));
    const bindings = await sites([
      { name: 'Fabrikam', bindings: [{ bindingInformation: `*:${port}:shop.fabrikam.com` }] },
    ]);
    expect((await check(bindings))[0]).toMatchObject({ status: 'failed', file: null });
  });

  it('a wildcard covers one label only: a.b.contoso.com is not served by _.contoso.com.pfx', async () => {
    const bindings = await sites([
      { name: 'Deep', bindings: [{ bindingInformation: `*:${port}:a.b.contoso.com` }] },
    ]);
    expect((await check(bindings))[0]).toMatchObject({ status: 'failed', file: null });
  });

  it('IDN host names: the binding in Unicode, SNI and the file name in punycode, case-insensitively', async () => {
    await copyFile(fixturePath('aes256/api.contoso.com.pfx'), join(share, 'XN--BCHER-KVA.example.pfx'));
    const bindings = await sites([
      { name: 'Bücher', bindings: [{ bindingInformation: `*:${port}:Bücher.example` }] },
    ]);
    expect((await check(bindings))[0]).toMatchObject({
      status: 'ok',
      hostName: 'Bücher.example',
      file: 'XN--BCHER-KVA.example.pfx',
      served: API,
    });
  });

  it('an IPv6 binding is listened on and probed on its address', async (ctx) => {
    if (!(await ipv6Available())) ctx.skip();
    const bindings = await sites([
      { name: 'V6', bindings: [{ bindingInformation: `[::1]:${port}:www.contoso.com` }] },
    ]);
    expect(backend.listeners.listening).toEqual([`::1|${port}`]);
    expect((await check(bindings))[0]).toMatchObject({ status: 'ok', ip: '::1', served: WWW });
  });

  it('with CCS disabled every binding fails', async () => {
    const bindings = await sites([
      { name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] },
    ]);
    await backend.apply({ enabled: false });
    const [result] = await checkServing(
      bindings,
      { unavailable: 'CCS is disabled on this host' },
      {
        backend,
        probe: tlsProbe,
        leafThumbprint,
      },
    );
    expect(result).toMatchObject({ status: 'failed', served: null });
    expect(result!.detail).toMatch(/CCS is disabled on this host/);
  });

  it('an identity that cannot read the share serves nothing', async () => {
    await createShareAccount(shareRoot, 'CONTOSO\\svc-ccs', 'changed-on-the-file-server', ['ccs']);
    const bindings = await sites([
      { name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] },
    ]);
    expect((await check(bindings))[0]).toMatchObject({ status: 'failed', expected: WWW });
  });

  it('listeners follow the bindings: a removed port closes', async () => {
    await sites([{ name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] }]);
    expect(backend.listeners.listening).toEqual([`127.0.0.1|${port}`]);
    await sites([]);
    expect(backend.listeners.listening).toEqual([]);
    const [result] = await check([
      { site: 'Contoso', hostName: 'www.contoso.com', port, ip: '*', sni: true },
    ]);
    expect(result).toMatchObject({ status: 'failed' });
    expect(result!.detail).toMatch(/Nothing listens on 127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  it('thousands of bindings: a bounded number are probed, the rest are skipped, none crash', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => ({
      bindingInformation: `*:${port}:s${i}.contoso.com`,
    }));
    const bindings = await sites([{ name: 'Hosting', bindings: many }]);
    expect(bindings).toHaveLength(3000);
    const results = await checkServing(bindings, STORE, {
      backend,
      probe: tlsProbe,
      leafThumbprint,
      maxProbes: 64,
    });
    const counts = results.reduce<Record<string, number>>(
      (c, r) => ({ ...c, [r.status]: (c[r.status] ?? 0) + 1 }),
      {},
    );
    expect(counts).toEqual({ ok: 64, skipped: 2936 });
    expect(results.find((r) => r.status === 'skipped')!.detail).toMatch(/at most 64 bindings are probed/);
  });
});

describe('the probe never hangs and never throws', () => {
  let silent: Server;
  let silentPort: number;
  const held = new Set<Socket>();

  beforeAll(async () => {
    // A peer that accepts the connection and never says a word.
    silent = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('a silent peer times out with a clear result', async () => {
    const [result] = await check(
      [{ site: 'Silent', hostName: 'www.contoso.com', port: silentPort, ip: '127.0.0.1', sni: true }],
      300,
    );
    expect(result).toMatchObject({ status: 'failed', served: null });
    expect(result!.detail).toMatch(/No TLS answer from 127\.0\.0\.1:\d+ within 0\.3 s/);
  });

  it('a silent peer does not keep the other bindings from being checked', async () => {
    const bindings = await sites([
      { name: 'Contoso', bindings: [{ bindingInformation: `*:${port}:www.contoso.com` }] },
    ]);
    await check(bindings); // the simulated IIS loads the certificate on first use
    const results = await check(
      [
        { site: 'Silent', hostName: 'www.contoso.com', port: silentPort, ip: '127.0.0.1', sni: true },
        ...bindings,
      ],
      2_000,
    );
    expect(results.map((r) => r.status)).toEqual(['failed', 'ok']);
  });

  it('a peer that speaks something else than TLS fails the handshake', async () => {
    const plain = createServer((socket) => socket.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const plainPort = (plain.address() as { port: number }).port;
    try {
      const result = await tlsProbe({
        address: '127.0.0.1',
        port: plainPort,
        serverName: 'www.contoso.com',
        timeoutMs: 5_000,
      });
      expect(result).toMatchObject({ ok: false, code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('a target node refuses to connect to is a failed result, not an exception', async () => {
    const result = await tlsProbe({ address: '127.0.0.1', port: 70_000, serverName: null, timeoutMs: 2_000 });
    expect(result).toMatchObject({ ok: false, code: 'ConnectFailed' });
  });
});
