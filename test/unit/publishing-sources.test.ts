/**
 * The sources of a share (shared/services/publishing-sources.ts) on in-memory stores, with a Key
 * Vault catalog stand-in that answers as the CertificateClient adapter does (a listing with
 * thumbprints and tags, a read per certificate): what a PUT refuses, and what it saves.
 */
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/errors.js';
import type { CatalogCertificate, CatalogEntry, CertificateCatalog } from '../../shared/ports.js';
import { SourcesService, sourcesTag } from '../../shared/services/publishing-sources.js';
import { makeCertificate, type TestCertificate } from '../support/certificates.js';
import { memoryStores } from '../support/memory-stores.js';
import type { AgentAccess } from '../../shared/publishing/source-access.js';

const CCS = 'default';
const caller = { id: 'access-token:t' };
const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

class Catalog implements CertificateCatalog {
  readonly certificates = new Map<string, { cert: TestCertificate; tags: Record<string, string> }>();
  reads = 0;
  list(): Promise<CatalogEntry[]> {
    return Promise.resolve(
      [...this.certificates].map(([name, c]) => ({
        name,
        thumbprint: c.cert.certificate.fingerprint.replace(/:/g, ''),
        tags: c.tags,
        enabled: true,
      })),
    );
  }
  get(name: string): Promise<CatalogCertificate | null> {
    this.reads++;
    const c = this.certificates.get(name);
    if (!c) return Promise.resolve(null);
    return Promise.resolve({
      name,
      version: 'v1',
      thumbprint: c.cert.certificate.fingerprint.replace(/:/g, ''),
      contentType: 'application/x-pkcs12',
      enabled: true,
      der: c.cert.certificate.raw,
      tags: c.tags,
    });
  }
}

async function setup(access: AgentAccess = 'fleet-wide') {
  const stores = memoryStores();
  await stores.desired.save(
    {
      ccsId: CCS,
      desired: {
        enabled: true,
        path: '\\\\fs\\ccs',
        username: 'u',
        password: null,
        privateKeyPassword: null,
      },
      generation: 1,
      lastOperationId: null,
      updatedAt: 't',
    },
    null,
  );
  const catalog = new Catalog();
  const refreshed: string[] = [];
  const service = new SourcesService(
    stores,
    catalog,
    { refresh: (id) => Promise.resolve(void refreshed.push(id)) },
    clock,
    log,
    access,
  );
  return { stores, catalog, service, refreshed };
}

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
};

describe('publishing sources', () => {
  it('saves names and a tag selector, resolves them, and asks for a run', async () => {
    const t = await setup();
    t.catalog.certificates.set('www', { cert: await makeCertificate(['www.contoso.com']), tags: {} });
    t.catalog.certificates.set('api', {
      cert: await makeCertificate(['api.contoso.com']),
      tags: { ccs: 'default' },
    });
    const saved = await t.service.put(
      CCS,
      { certificates: [{ name: 'WWW' }], tag_selector: { name: 'ccs', value: 'default' } },
      null,
      caller,
    );
    expect(saved.state.resolved.map((r) => [r.name, r.via, r.version])).toEqual([
      ['www', 'name', 'v1'],
      ['api', 'tag', 'v1'],
    ]);
    expect(t.refreshed).toEqual([CCS]);
    expect(sourcesTag(saved.etag)).toMatch(/^"s/);
  });

  it('refuses two sources claiming one host name with 409 naming the file, saving nothing', async () => {
    const t = await setup();
    t.catalog.certificates.set('a', {
      cert: await makeCertificate(['www.contoso.com', '*.contoso.com']),
      tags: {},
    });
    t.catalog.certificates.set('b', { cert: await makeCertificate(['WWW.contoso.com']), tags: {} });
    const error = await refusal(
      t.service.put(CCS, { certificates: [{ name: 'a' }, { name: 'b' }] }, null, caller),
    );
    expect(error).toMatchObject({ kind: 'conflict', code: 'NameConflicts' });
    expect(error.message).toContain('www.contoso.com.pfx (a, b)');
    expect(await t.stores.publishing.getSources(CCS)).toBeNull();
  });

  it('refuses more than 1,000 sources through the tag selector, naming it', async () => {
    const t = await setup();
    const cert = await makeCertificate(['x.contoso.com']);
    for (let i = 0; i < 1001; i++) t.catalog.certificates.set(`c${i}`, { cert, tags: { ccs: 'default' } });
    const error = await refusal(
      t.service.put(CCS, { tag_selector: { name: 'ccs', value: 'default' } }, null, caller),
    );
    expect(error).toMatchObject({ kind: 'invalid', field: 'tag_selector' });
  });

  it('honours If-Match: a stale ETag is 412 and changes nothing', async () => {
    const t = await setup();
    t.catalog.certificates.set('www', { cert: await makeCertificate(['www.contoso.com']), tags: {} });
    const first = await t.service.put(CCS, { certificates: [{ name: 'www' }] }, null, caller);
    const error = await refusal(t.service.put(CCS, { certificates: [] }, '"sstale"', caller));
    expect(error.kind).toBe('precondition');
    const again = await t.service.put(CCS, { certificates: [] }, sourcesTag(first.etag), caller);
    expect(again.sources?.certificates).toEqual([]);
  });

  it('answers 404 for a ccs-id without CCS enabled', async () => {
    const t = await setup();
    const error = await refusal(t.service.get('other'));
    expect(error.kind).toBe('not-found');
  });

  it('with per-ccs-id agent groups, takes only sources named ccs-<ccs-id>--… (400 naming the field, nothing saved)', async () => {
    const t = await setup('per-ccs-id');
    const cert = await makeCertificate(['www.contoso.com']);
    t.catalog.certificates.set('ccs-default--www', { cert, tags: {} });
    t.catalog.certificates.set('www-contoso', { cert: await makeCertificate(['api.contoso.com']), tags: {} });
    t.catalog.certificates.set('ccs-default-b--shop', {
      cert: await makeCertificate(['shop.contoso.com']),
      tags: { ccs: 'default' },
    });
    const named = await refusal(
      t.service.put(
        CCS,
        { certificates: [{ name: 'ccs-default--www' }, { name: 'www-contoso' }] },
        null,
        caller,
      ),
    );
    expect(named).toMatchObject({ kind: 'invalid', field: 'certificates.1.name' });
    expect(named.message).toContain('ccs-default--');
    const tagged = await refusal(
      t.service.put(CCS, { tag_selector: { name: 'ccs', value: 'default' } }, null, caller),
    );
    expect(tagged).toMatchObject({ kind: 'invalid', field: 'tag_selector' });
    expect(tagged.message).toContain('ccs-default-b--shop');
    expect(await t.stores.publishing.getSources(CCS)).toBeNull();

    const saved = await t.service.put(CCS, { certificates: [{ name: 'ccs-default--www' }] }, null, caller);
    expect(saved.state.resolved).toMatchObject([{ name: 'ccs-default--www', problem: null }]);
  });

  it('with the fleet-wide group, takes any certificate name', async () => {
    const t = await setup('fleet-wide');
    t.catalog.certificates.set('www-contoso', { cert: await makeCertificate(['www.contoso.com']), tags: {} });
    const saved = await t.service.put(CCS, { certificates: [{ name: 'www-contoso' }] }, null, caller);
    expect(saved.state.resolved).toMatchObject([{ name: 'www-contoso', problem: null }]);
  });
});
