/**
 * Folding hosts' bindings and serving checks (shared/services/bindings-folder.ts), coverage of a
 * fleet (shared/bindings/coverage-report.ts) and the fleet-wide 409s, over the in-memory stores
 * (the same contract suite runs them against Azurite).
 */
import { describe, expect, it } from 'vitest';
import { bindingsDigest } from '../../shared/bindings/digest.js';
import { coverageReport } from '../../shared/bindings/coverage-report.js';
import type { HostBindings } from '../../shared/bindings/model.js';
import { emptyBindingsHead } from '../../shared/bindings/model.js';
import { DomainError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/log.js';
import { MESSAGE_VERSION, type BindingsReport, type CcsBinding } from '../../shared/messages.js';
import type { CertificateEntry } from '../../shared/services/inventory-service.js';
import { BindingsFolder } from '../../shared/services/bindings-folder.js';
import { BindingsService } from '../../shared/services/bindings-service.js';
import { boundNamesConflict } from '../../shared/services/bound-names-error.js';
import { memoryStores } from '../support/memory-stores.js';

const ccsId = 'farm-a';
const binding = (hostName: string, site = 'Contoso', port = 443): CcsBinding => ({
  site,
  hostName,
  port,
  ip: '*',
  sni: true,
});
const at = (minute: number) => `2026-06-01T12:${String(minute).padStart(2, '0')}:00.000Z`;

function setup() {
  const stores = memoryStores();
  return { stores, folder: new BindingsFolder(stores, silentLogger), service: new BindingsService(stores) };
}

const chunks = (host: string, list: CcsBinding[], size: number, when: string): BindingsReport[] => {
  const count = Math.ceil(list.length / size);
  return Array.from({ length: count }, (_, index) => ({
    v: MESSAGE_VERSION,
    type: 'bindings' as const,
    ccsId,
    host,
    digest: bindingsDigest(list),
    total: list.length,
    chunk: { index, count },
    bindings: list.slice(index * size, (index + 1) * size),
    error: null,
    appliedGeneration: 1,
    at: when,
  }));
};

const listOf = async (service: BindingsService, host: string) =>
  (await service.ofFleet(ccsId)).find((h) => h.head.host === host)?.bindings;

describe('BindingsFolder', () => {
  it('stores an inline list, and keeps it when the same list comes again', async () => {
    const { folder, service, stores } = setup();
    const list = [binding('www.contoso.com'), binding('shop.contoso.com')];
    const summary = { digest: bindingsDigest(list), total: 2, items: list, error: null };
    await folder.summary(ccsId, 'web01', summary, at(1));
    await folder.summary(ccsId, 'web01', summary, at(2));
    expect(await listOf(service, 'web01')).toEqual(list);
    // The same list within BINDINGS_REFRESH_MS (9 minutes) is not written again (issue 18)…
    expect((await stores.bindings.head(ccsId, 'web01'))?.record).toMatchObject({ total: 2, at: at(1) });
    // …after it, its time moves on, also in another process (a folder that never saw it).
    await folder.summary(ccsId, 'web01', summary, at(10));
    expect((await stores.bindings.head(ccsId, 'web01'))?.record).toMatchObject({ at: at(10) });
    await new BindingsFolder(stores, silentLogger).summary(ccsId, 'web01', summary, at(19));
    expect((await stores.bindings.head(ccsId, 'web01'))?.record).toMatchObject({ at: at(19) });
    expect(stores.bindings.parts.size).toBe(1);
  });

  it('refreshes an unchanged list it wrote without reading it first, and reads again when another instance wrote it', async () => {
    const { folder, stores } = setup();
    const list = [binding('www.contoso.com')];
    const summary = { digest: bindingsDigest(list), total: 1, items: list, error: null };
    await folder.summary(ccsId, 'web01', summary, at(1));
    let reads = 0;
    const head = stores.bindings.head.bind(stores.bindings);
    stores.bindings.head = (...args) => {
      reads++;
      return head(...args);
    };
    // Past BINDINGS_REFRESH_MS: written on the ETag this folder holds, no read (issue 18).
    await folder.summary(ccsId, 'web01', summary, at(10));
    expect(reads).toBe(0);
    expect((await head(ccsId, 'web01'))?.record).toMatchObject({ at: at(10) });
    // Another instance (which reads: it has seen nothing) refreshes it meanwhile: this folder's
    // ETag loses, it reads once and writes again.
    await new BindingsFolder(stores, silentLogger).summary(ccsId, 'web01', summary, at(20));
    expect(reads).toBe(1);
    await folder.summary(ccsId, 'web01', summary, at(30));
    expect(reads).toBe(2);
    expect((await head(ccsId, 'web01'))?.record).toMatchObject({ at: at(30), total: 1, error: null });
  });

  it('assembles a chunked list arriving out of order and twice, and drops the older list', async () => {
    const { folder, service, stores } = setup();
    await folder.summary(
      ccsId,
      'web01',
      {
        digest: bindingsDigest([binding('old.contoso.com')]),
        total: 1,
        items: [binding('old.contoso.com')],
        error: null,
      },
      at(1),
    );
    const list = Array.from({ length: 7 }, (_, i) => binding(`s${i}.contoso.com`));
    const parts = chunks('web01', list, 3, at(2));
    await folder.chunk(parts[2]!);
    await folder.chunk(parts[0]!);
    await folder.chunk(parts[0]!);
    expect(await listOf(service, 'web01')).toEqual([binding('old.contoso.com')]);
    await folder.chunk(parts[1]!);
    expect(await listOf(service, 'web01')).toEqual(list);
    expect([...stores.bindings.parts.values()].every((p) => p.set.startsWith('c.'))).toBe(true);
  });

  it('refuses chunks that do not add up to their digest, keeping the list known before', async () => {
    const { folder, service, stores } = setup();
    const good = [binding('www.contoso.com')];
    await folder.summary(
      ccsId,
      'web01',
      { digest: bindingsDigest(good), total: 1, items: good, error: null },
      at(1),
    );
    const forged = chunks('web01', [binding('a.contoso.com'), binding('b.contoso.com')], 1, at(2));
    await folder.chunk(forged[0]!);
    await folder.chunk({ ...forged[1]!, bindings: [binding('evil.contoso.com')] });
    expect(await listOf(service, 'web01')).toEqual(good);
    expect((await stores.bindings.head(ccsId, 'web01'))?.record.error?.code).toBe('BindingsDigestMismatch');
  });

  it('ignores a list read before the stored one, and records a read error without losing the list', async () => {
    const { folder, service, stores } = setup();
    const newer = [binding('new.contoso.com')];
    const older = [binding('old.contoso.com')];
    await folder.summary(
      ccsId,
      'web01',
      { digest: bindingsDigest(newer), total: 1, items: newer, error: null },
      at(5),
    );
    await folder.summary(
      ccsId,
      'web01',
      { digest: bindingsDigest(older), total: 1, items: older, error: null },
      at(4),
    );
    expect(await listOf(service, 'web01')).toEqual(newer);
    const error = {
      name: 'bindings',
      code: 'BindingsUnreadable',
      detail: 'applicationHost.config is locked',
      status: 500,
    };
    await folder.summary(ccsId, 'web01', { digest: null, total: 0, error }, at(6));
    expect(await listOf(service, 'web01')).toEqual(newer);
    expect((await stores.bindings.head(ccsId, 'web01'))?.record.error).toEqual(error);
    await folder.summary(
      ccsId,
      'web01',
      { digest: bindingsDigest(newer), total: 1, items: newer, error: null },
      at(7),
    );
    expect((await stores.bindings.head(ccsId, 'web01'))?.record.error).toBeNull();
  });

  it('refuses an inline list whose digest is wrong', async () => {
    const { folder, stores } = setup();
    const list = [binding('www.contoso.com')];
    await folder.summary(
      ccsId,
      'web01',
      { digest: 'A'.repeat(43), total: 1, items: list, error: null },
      at(1),
    );
    expect((await stores.bindings.head(ccsId, 'web01'))?.record).toMatchObject({
      set: null,
      error: { code: 'BindingsDigestMismatch' },
    });
  });
});

describe('BindingsService.refuseDisableWhileSitesUseCcs', () => {
  it('answers 409 SitesUseCcs naming each site with its hosts and names; nothing when none are bound', async () => {
    const { folder, service, stores } = setup();
    await stores.desired.save({ ccsId, generation: 1, desired: { enabled: true } } as never, null);
    await expect(service.refuseDisableWhileSitesUseCcs(ccsId)).resolves.toBeUndefined();
    const list = [binding('www.contoso.com'), binding('www.fabrikam.com', 'Fabrikam')];
    for (const host of ['web02', 'web01']) {
      await folder.summary(
        ccsId,
        host,
        { digest: bindingsDigest(list), total: 2, items: list, error: null },
        at(1),
      );
    }
    const refusal = await service.refuseDisableWhileSitesUseCcs(ccsId).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ kind: 'conflict', code: 'SitesUseCcs', field: 'force' });
    expect((refusal as DomainError).details).toEqual({
      sites: [
        { name: 'Contoso', hosts: ['web01', 'web02'], host_names: ['www.contoso.com'] },
        { name: 'Fabrikam', hosts: ['web01', 'web02'], host_names: ['www.fabrikam.com'] },
      ],
    });
  });
});

const entry = (name: string, problems: CertificateEntry['problems'] = [], expiresInDays = 200) =>
  ({
    row: {
      id: `id-${name}`,
      file: { name, certificate: { thumbprint: 'A'.repeat(40), validTo: '2027-01-01' } },
    },
    expiresInDays,
    problems,
  }) as unknown as CertificateEntry;

const host = (name: string, bindings: CcsBinding[]): HostBindings => ({
  head: emptyBindingsHead(ccsId, name),
  bindings,
});

describe('coverageReport', () => {
  const files = [
    entry('www.contoso.com.pfx'),
    entry('_.contoso.com.pfx'),
    entry('expired.contoso.com.pfx', [{ code: 'expired', detail: 'expired' }], -3),
    entry('broken.contoso.com.pfx', [{ code: 'wrong_password', detail: 'does not open' }]),
    entry('_.fabrikam.com.pfx'),
    entry('unused.example.pfx'),
  ];
  const report = coverageReport(
    [
      host('web01', [
        binding('WWW.Contoso.com'),
        binding('shop.contoso.com'),
        binding('expired.contoso.com'),
        binding('broken.contoso.com'),
        binding('a.b.fabrikam.com', 'Fabrikam'),
        binding('', 'Default', 8443),
      ]),
      host('web02', [binding('www.contoso.com')]),
    ],
    files,
    30,
  );
  const byName = new Map(report.names.map((n) => [n.name, n]));

  it('finds the exact file first, else the one-level wildcard file, as IIS does', () => {
    expect(byName.get('www.contoso.com')?.file?.row.file.name).toBe('www.contoso.com.pfx');
    expect(byName.get('www.contoso.com')?.boundBy.map((b) => b.host)).toEqual(['web01', 'web02']);
    expect(byName.get('shop.contoso.com')).toMatchObject({
      status: 'covered',
      file: { row: { file: { name: '_.contoso.com.pfx' } } },
    });
    expect(byName.get('a.b.fabrikam.com')).toMatchObject({ status: 'uncovered', file: null });
    expect(byName.get('a.b.fabrikam.com')?.reason).toContain('_.b.fabrikam.com.pfx');
  });

  it('counts an expired file as covered and expiring, a file that cannot open as uncovered (no fallback)', () => {
    expect(byName.get('expired.contoso.com')).toMatchObject({ status: 'covered', expiring: true });
    expect(byName.get('broken.contoso.com')).toMatchObject({ status: 'uncovered' });
    expect(byName.get('broken.contoso.com')?.reason).toContain('does not open');
  });

  it('looks an internationalised name up by its punycode, case-insensitively', () => {
    const idn = coverageReport(
      [host('web01', [binding('Bücher.example'), binding('BÜCHER.contoso.com')])],
      [entry('XN--BCHER-KVA.example.pfx'), entry('_.contoso.com.pfx')],
      30,
    );
    expect(idn.names.map((n) => [n.name, n.status, n.file?.row.file.name])).toEqual([
      ['xn--bcher-kva.contoso.com', 'covered', '_.contoso.com.pfx'],
      ['xn--bcher-kva.example', 'covered', 'XN--BCHER-KVA.example.pfx'],
    ]);
  });

  it('lists bindings without a name and files no binding uses, and sums up', () => {
    expect(report.unnamed.map((b) => b.site)).toEqual(['Default']);
    expect(report.unused.map((f) => f.row.file.name)).toEqual(['_.fabrikam.com.pfx', 'unused.example.pfx']);
    expect(report.summary).toEqual({ covered: 3, uncovered: 2, expiring: 1 });
  });
});

describe('boundNamesConflict', () => {
  it('names every host name and host that refused, once each, sorted', () => {
    const refused = (host: string, hostNames: string[]) => ({
      operationId: 'op',
      host,
      preflight: 'failed' as const,
      apply: 'skipped' as const,
      error: {
        name: 'private_key_password',
        code: 'BoundNamesUncovered',
        detail: 'x',
        status: 409,
        hostNames,
      },
      updatedAt: at(1),
    });
    const error = boundNamesConflict(
      { code: 'BoundNamesUncovered', message: 'refused', target: 'private_key_password' } as never,
      [
        refused('web02', ['www.contoso.com']),
        refused('web01', ['WWW.contoso.com', 'shop.contoso.com']),
      ] as never,
    );
    expect(error).toMatchObject({
      kind: 'conflict',
      code: 'BoundNamesUncovered',
      field: 'private_key_password',
    });
    expect(error.details).toEqual({
      host_names: ['shop.contoso.com', 'www.contoso.com'],
      hosts: ['web01', 'web02'],
    });
    expect(error.message).toContain('?force=true');
  });
});
