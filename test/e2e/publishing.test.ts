/**
 * `npm start`, then Key Vault as the source of the share (issue 14): a certificate created in the
 * local Key Vault with the real CertificateClient and named as a source (`ccs-default--…`: the
 * agents are the ccs-id's own group, which reads only such certificates) is written into the demo
 * share by the elected agent (one file per DNS name, the wildcard as `_.`), shown with its source
 * by the certificates API, served by the simulated sites, and replaced when Key Vault has a new
 * version. Then the private-key password is rotated across every file while TLS handshakes run
 * in a loop against both hosts: none may fail. The whole stack runs as processes.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CertificateClient, type CertificatePolicy } from '@azure/keyvault-certificates';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsProbe } from '../../agent/serving/probe.js';
import { CertificateListSchema } from '../../functions/openapi/certificate-schemas.js';
import { OperationSchema } from '../../functions/openapi/response-schemas.js';
import { PublishingSourcesSchema } from '../../functions/openapi/sources-schemas.js';
import { StaticTokenCredential } from '../../shared/adapters/static-token-credential.js';
import { readCertificateBundle } from '../../shared/pkcs12/bundle.js';
import { readJson } from '../support/api-harness.js';
import { startStackProcess, type StackProcess } from '../support/stack-process.js';

let stack: StackProcess;
let vault: CertificateClient;
const resource = () => `/webserver/centralized-certificates/${stack.info.ccsId}`;

const policy = (dnsNames: [string, ...string[]]): CertificatePolicy => ({
  issuerName: 'Self',
  subject: `CN=${dnsNames[0]}`,
  subjectAlternativeNames: { dnsNames },
  exportable: true,
  contentType: 'application/x-pkcs12',
});

async function createCertificate(name: string, dnsNames: [string, ...string[]]) {
  const poller = await vault.beginCreateCertificate(name, policy(dnsNames), { intervalInMs: 50 });
  const created = await poller.pollUntilDone();
  return {
    version: created.properties.version!,
    thumbprint: Buffer.from(created.properties.x509Thumbprint!).toString('hex').toUpperCase(),
  };
}

/** Polls `read` until `done` holds (the stack is event-driven; its intervals are seconds). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await delay(250);
    value = await read();
  }
  return value;
}

const shareFiles = () => readdirSync(stack.info.share.folder).sort();
const manifest = () =>
  JSON.parse(readFileSync(join(stack.info.share.folder, '.ccs-publisher.json'), 'utf8')) as {
    files: Record<string, { source: string; version: string; passwordVersion: string }>;
  };

/** Each host's demo-sites port, from its simulated applicationHost.config. */
function sitePorts(): number[] {
  return stack.info.hosts.map((host) => {
    const config = readFileSync(
      join(stack.dir, 'agents', host, 'registry', 'inetsrv', 'config', 'applicationHost.config'),
      'utf8',
    );
    return Number(/\*:(\d+):www\.fabrikam\.com/.exec(config)![1]);
  });
}

const handshake = (port: number, serverName: string) =>
  tlsProbe({ address: '127.0.0.1', port, serverName, timeoutMs: 5000 });

beforeAll(async () => {
  stack = await startStackProcess();
  vault = new CertificateClient(
    stack.info.keyVault.url,
    new StaticTokenCredential(stack.info.keyVault.operatorToken),
    {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: readFileSync(stack.info.keyVault.caCertPath, 'utf8') },
    },
  );
  const enabled = await stack.request('POST', resource(), {
    body: {
      path: stack.info.share.path,
      identity: { username: stack.info.share.username, password: stack.info.share.password },
      private_key_password: stack.info.share.privateKeyPassword,
    },
    headers: { Prefer: 'wait=30' },
  });
  expect(enabled.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('npm start: Key Vault certificates published to the demo share', () => {
  let fabrikam: { version: string; thumbprint: string };

  it('refuses a bad source name with 400 naming the field, and an unknown certificate likewise', async () => {
    const bad = await stack.request('PUT', `${resource()}/sources`, {
      body: { certificates: [{ name: 'no_underscores' }] },
    });
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toMatchObject({ name: 'certificates.0.name' });
    const unknown = await stack.request('PUT', `${resource()}/sources`, {
      body: { certificates: [{ name: 'not-in-the-vault' }] },
    });
    expect(unknown.status).toBe(400);
    expect(await readJson(unknown)).toMatchObject({ name: 'certificates.0.name' });
    // The agents are the ccs-id's own group: they may read only certificates named ccs-default--….
    await createCertificate('fabrikam-elsewhere', ['elsewhere.fabrikam.com']);
    const outside = await stack.request('PUT', `${resource()}/sources`, {
      body: { certificates: [{ name: 'fabrikam-elsewhere' }] },
    });
    expect(outside.status).toBe(400);
    expect(await readJson(outside)).toMatchObject({
      name: 'certificates.0.name',
      detail: expect.stringContaining('ccs-default--'),
    });
  });

  it('writes one file per DNS name, shows the source, and the site serves it', async () => {
    fabrikam = await createCertificate('ccs-default--fabrikam-web', ['www.fabrikam.com', '*.fabrikam.com']);
    const put = await stack.request('PUT', `${resource()}/sources`, {
      body: { certificates: [{ name: 'ccs-default--fabrikam-web' }] },
    });
    expect(put.status).toBe(200);
    expect(put.headers.get('etag')).toMatch(/^"s/);

    const files = await eventually(
      () => Promise.resolve(shareFiles()),
      (f) => f.includes('www.fabrikam.com.pfx'),
    );
    expect(files).toEqual(expect.arrayContaining(['www.fabrikam.com.pfx', '_.fabrikam.com.pfx']));
    expect(manifest().files['www.fabrikam.com.pfx']).toMatchObject({
      source: 'ccs-default--fabrikam-web',
      version: fabrikam.version,
    });
    // Encrypted with the store's private-key password, the key included.
    const bundle = readCertificateBundle(
      readFileSync(join(stack.info.share.folder, 'www.fabrikam.com.pfx')),
      'pfx',
      stack.info.share.privateKeyPassword,
    );
    expect(bundle.privateKey).toBeDefined();

    const listed = await eventually(
      async () =>
        CertificateListSchema.parse(
          await readJson(await stack.request('GET', '/certificates?fields=alias,source')),
        ).certificates,
      (c) => c.some((x) => x.alias === 'www.fabrikam.com.pfx' && x.source),
    );
    expect(listed.find((c) => c.alias === 'www.fabrikam.com.pfx')?.source).toMatchObject({
      key_vault_certificate: 'ccs-default--fabrikam-web',
      version: fabrikam.version,
    });
    expect(listed.find((c) => c.alias === 'www.contoso.com.pfx')?.source).toBeNull();

    const sources = PublishingSourcesSchema.parse(
      await readJson(await stack.request('GET', `${resource()}/sources`)),
    );
    expect(sources.resolved).toMatchObject([
      { name: 'ccs-default--fabrikam-web', version: fabrikam.version, via: 'name' },
    ]);
    expect(stack.info.hosts).toContain(sources.publisher.host);

    for (const port of sitePorts()) {
      expect(await handshake(port, 'www.fabrikam.com')).toEqual({
        ok: true,
        thumbprint: fabrikam.thumbprint,
      });
    }
  }, 120_000);

  it('publishes a new version of the certificate within the local interval', async () => {
    const renewed = await createCertificate('ccs-default--fabrikam-web', [
      'www.fabrikam.com',
      '*.fabrikam.com',
    ]);
    expect(renewed.version).not.toBe(fabrikam.version);
    const entry = await eventually(
      () => Promise.resolve(manifest().files['_.fabrikam.com.pfx']),
      (e) => e?.version === renewed.version,
    );
    expect(entry?.version).toBe(renewed.version);
    fabrikam = renewed;
  }, 90_000);

  it('refuses two sources that claim the same host name with 409 naming the file', async () => {
    await createCertificate('ccs-default--fabrikam-copy', ['www.fabrikam.com']);
    const res = await stack.request('PUT', `${resource()}/sources`, {
      body: { certificates: [{ name: 'ccs-default--fabrikam-web' }, { name: 'ccs-default--fabrikam-copy' }] },
    });
    expect(res.status).toBe(409);
    expect(JSON.stringify(await readJson(res))).toContain('www.fabrikam.com.pfx');
  }, 60_000);

  it('rotates the private-key password across every file with no failed handshake', async () => {
    // The publisher takes over the demo files (overwrite) and the expired one goes: every file of
    // the share is then the publisher's, so the rotation needs no force.
    await createCertificate('ccs-default--contoso-web', ['www.contoso.com', '*.contoso.com']);
    const put = await stack.request('PUT', `${resource()}/sources`, {
      body: {
        certificates: [
          { name: 'ccs-default--fabrikam-web' },
          { name: 'ccs-default--contoso-web', overwrite: true },
        ],
      },
    });
    expect(put.status).toBe(200);
    rmSync(join(stack.info.share.folder, 'expired.contoso.com.pfx'));
    await eventually(
      () => Promise.resolve(manifest().files['www.contoso.com.pfx']),
      (e) => e?.source === 'ccs-default--contoso-web',
    );

    const ports = sitePorts();
    const names = ['www.contoso.com', 'shop.contoso.com', 'www.fabrikam.com'];
    let running = true;
    const failures: string[] = [];
    let handshakes = 0;
    const loop = (async () => {
      while (running) {
        for (const port of ports) {
          for (const name of names) {
            const outcome = await handshake(port, name);
            handshakes++;
            if (!outcome.ok) failures.push(`${port} ${name}: ${outcome.code}`);
          }
        }
      }
    })();
    const started = await stack.request('PATCH', resource(), {
      body: { private_key_password: 'Rotated-Password-2' },
    });
    expect(started.status).toBe(202);
    const operation = OperationSchema.parse(await readJson(started));
    expect(operation.kind).toBe('rotate');
    const done = await eventually(
      async () =>
        OperationSchema.parse(await readJson(await stack.request('GET', `/operations/${operation.id}`))),
      (op) => op.status !== 'Running',
      120_000,
    );
    const during = handshakes;
    // A few more rounds after the end: the hosts are back on the store with the new password.
    while (handshakes < during + ports.length * names.length * 3) await delay(50);
    running = false;
    await loop;
    expect(done.status).toBe('Succeeded');
    expect(failures).toEqual([]);
    expect(during).toBeGreaterThan(ports.length * names.length);

    for (const file of ['www.contoso.com.pfx', '_.contoso.com.pfx', 'www.fabrikam.com.pfx']) {
      const bytes = readFileSync(join(stack.info.share.folder, file));
      expect(readCertificateBundle(bytes, 'pfx', 'Rotated-Password-2').privateKey).toBeDefined();
    }
    const current = await readJson(await stack.request('GET', resource()));
    expect(current).toMatchObject({ path: stack.info.share.path });
    // The staging copy goes with the next publish run, once every host serves the store again.
    const folders = await eventually(
      () =>
        Promise.resolve(readdirSync(stack.info.share.folder).filter((f) => f.startsWith('.ccs-rotation-'))),
      (f) => f.length === 0,
    );
    expect(folders).toEqual([]);
  }, 240_000);
});
