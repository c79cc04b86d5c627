/**
 * Issue 13's "Done when", on `npm start` as a newcomer runs it: the demo fleet's sites (two
 * simulated IIS servers serving www/shop/expired.contoso.com and www.fabrikam.com over real TLS)
 * in the coverage endpoint, the serving check after each apply (real handshakes, thumbprints
 * compared), a PATCH that would open no bound site's file refused with nothing changed, a
 * replaced share file reported as `mismatch`, a removed wildcard file turning its names
 * uncovered, and DELETE refused while sites use CCS, then done with `?force=true`.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoverageSchema } from '../../functions/openapi/coverage-schemas.js';
import {
  CentralizedCertificatesSchema,
  ErrorBodySchema,
  HostListSchema,
  OperationSchema,
} from '../../functions/openapi/response-schemas.js';
import { readJson } from '../support/api-harness.js';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';

let stack: StackProcess;
const resource = () => `/webserver/centralized-certificates/${stack.info.ccsId}`;
const wait = { Prefer: 'wait=30' };
type Coverage = ReturnType<typeof CoverageSchema.parse>;

const coverage = async (): Promise<Coverage> =>
  CoverageSchema.parse(await readJson(await stack.request('GET', `${resource()}/coverage`)));

/** Coverage once `done` holds for it (the inventory interval of the local stack is 5 s). */
async function coverageWhen(what: string, done: (c: Coverage) => boolean): Promise<Coverage> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const current = await coverage();
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`coverage never showed ${what}: ${JSON.stringify(current)}`);
    await delay(250);
  }
}

const statuses = (c: Coverage) => c.names.map((n) => [n.host_name, n.status, n.certificate?.alias ?? null]);

/** The serving results of the last operation, per host: host name → status. */
async function lastServing(): Promise<Map<string, Record<string, string>>> {
  const body = CentralizedCertificatesSchema.parse(await readJson(await stack.request('GET', resource())));
  const op = OperationSchema.parse(
    await readJson(await stack.request('GET', body._links.last_operation!.href.replace(/^\/api/, ''))),
  );
  return new Map(
    op.hosts.map((h) => [
      h.name,
      Object.fromEntries((h.serving?.results ?? []).map((r) => [r.host_name, r.status])),
    ]),
  );
}

beforeAll(async () => {
  stack = await startStackProcess();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('npm start: coverage and serving checks of the demo sites', () => {
  it('enables CCS and checks every demo binding by a real TLS handshake after the apply', async () => {
    const res = await stack.request('POST', resource(), {
      body: {
        path: stack.info.share.path,
        identity: { username: stack.info.share.username, password: stack.info.share.password },
        private_key_password: stack.info.share.privateKeyPassword,
      },
      headers: wait,
    });
    expect(res.status).toBe(200);
    const body = CentralizedCertificatesSchema.parse(await readJson(res));
    // Three names served from the share on each host; www.fabrikam.com has no file: its handshake fails.
    expect(body.serving).toMatchObject({ hosts: 2, ok: 6, mismatch: 0, failed: 2 });
    const expected = {
      'www.contoso.com': 'ok',
      'shop.contoso.com': 'ok',
      'expired.contoso.com': 'ok',
      'www.fabrikam.com': 'failed',
    };
    expect(Object.fromEntries(await lastServing())).toEqual({ 'web-01': expected, 'web-02': expected });
    const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
    for (const host of hosts.hosts) {
      expect(host.bindings).toMatchObject({ total: 4, error: null });
      const www = host.serving?.results.find((r) => r.host_name === 'www.contoso.com');
      expect(www).toMatchObject({ status: 'ok', file: 'www.contoso.com.pfx' });
      expect(www?.served).toBe(www?.expected);
    }
  });

  it("shows the demo fleet's covered and uncovered names in coverage", async () => {
    const report = await coverageWhen('the scanned share', (c) => c.summary.covered === 3);
    expect(statuses(report)).toEqual([
      ['expired.contoso.com', 'covered', 'expired.contoso.com.pfx'],
      ['shop.contoso.com', 'covered', '_.contoso.com.pfx'],
      ['www.contoso.com', 'covered', 'www.contoso.com.pfx'],
      ['www.fabrikam.com', 'uncovered', null],
    ]);
    expect(report.summary).toEqual({ covered: 3, uncovered: 1, expiring: 1 });
    expect(report.names[0]!.certificate?.problems.map((p) => p.code)).toEqual(['expired']);
    expect(report.names[3]!.bound_by.map((b) => [b.host, b.site])).toEqual([
      ['web-01', 'Fabrikam'],
      ['web-02', 'Fabrikam'],
    ]);
    const body = CentralizedCertificatesSchema.parse(await readJson(await stack.request('GET', resource())));
    expect(body.coverage).toEqual(report.summary);
  });

  it('refuses a private-key password that opens no bound site’s file, and no host changes', async () => {
    const before = CentralizedCertificatesSchema.parse(
      await readJson(await stack.request('GET', resource())),
    );
    const res = await stack.request('PATCH', resource(), {
      body: { private_key_password: 'opens-no-demo-file' },
      headers: wait,
    });
    expect([400, 409]).toContain(res.status);
    expect(ErrorBodySchema.parse(await readJson(res)).name).toBe('private_key_password');
    const after = CentralizedCertificatesSchema.parse(await readJson(await stack.request('GET', resource())));
    expect(after.generation).toBe(before.generation);
    const hosts = HostListSchema.parse(await readJson(await stack.request('GET', `${resource()}/hosts`)));
    expect(hosts.hosts.map((h) => h.applied_generation)).toEqual([before.generation, before.generation]);
  });

  it('reports mismatch for a name whose share file was replaced by another certificate', async () => {
    // IIS keeps serving the certificate it loaded until its polling interval passes (300 s).
    const { folder } = stack.info.share;
    await copyFile(join(folder, '_.contoso.com.pfx'), join(folder, 'www.contoso.com.pfx'));
    const res = await stack.request('PATCH', resource(), {
      body: { private_key_password: stack.info.share.privateKeyPassword },
      headers: wait,
    });
    expect(res.status).toBe(200);
    for (const [, results] of await lastServing()) {
      expect(results).toMatchObject({ 'www.contoso.com': 'mismatch', 'shop.contoso.com': 'ok' });
    }
  });

  it('turns the wildcard names uncovered once the wildcard file is removed', async () => {
    await rm(join(stack.info.share.folder, '_.contoso.com.pfx'));
    const report = await coverageWhen('shop.contoso.com uncovered', (c) =>
      c.names.some((n) => n.host_name === 'shop.contoso.com' && n.status === 'uncovered'),
    );
    expect(report.names.find((n) => n.host_name === 'shop.contoso.com')?.reason).toContain(
      '_.contoso.com.pfx',
    );
  });

  it('refuses DELETE with 409 naming the sites, then disables with ?force=true', async () => {
    const refused = await stack.request('DELETE', resource(), { headers: wait });
    expect(refused.status).toBe(409);
    const error = ErrorBodySchema.parse(await readJson(refused));
    expect(error.sites?.map((s) => [s.name, s.hosts])).toEqual([
      ['Contoso', ['web-01', 'web-02']],
      ['Fabrikam', ['web-01', 'web-02']],
    ]);
    expect((await stack.request('GET', resource())).status).toBe(200);
    const forced = await stack.request('DELETE', `${resource()}?force=true`, { headers: wait });
    expect(forced.status).toBe(204);
    expect((await stack.request('GET', resource())).status).toBe(404);
  });
});
