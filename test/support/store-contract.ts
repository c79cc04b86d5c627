/**
 * The contracts of shared/ports.ts's stores, as one suite run against every implementation: the
 * Table storage adapters on Azurite (test/integration/table-stores.test.ts) and the in-memory
 * stand-ins the unit tests use (test/unit/memory-stores.test.ts). A stand-in that is kinder than
 * the real adapter fails here.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, CcsRecord, HostRecord, OperationRecord } from '../../shared/model.js';
import { emptyLease } from '../../shared/model.js';
import type { Stores } from '../../shared/ports.js';
import { DISABLED_STATE } from '../../shared/messages.js';
import { emptyPublishState, type PublishedFileRecord } from '../../shared/publishing/model.js';

const unique = (prefix: string) => `${prefix}${randomUUID().slice(0, 8)}`;

const ccs = (ccsId: string, generation = 1): CcsRecord => ({
  ccsId,
  desired: DISABLED_STATE,
  generation,
  updatedAt: '2026-01-01T00:00:00.000Z',
  lastOperationId: null,
});

export const hostRecord = (ccsId: string, host: string, appliedGeneration = 0): HostRecord => ({
  ccsId,
  host,
  agentVersion: 't',
  backend: 'fake',
  actual: null,
  appliedGeneration,
  lastSeen: '2026-01-01T00:00:00.000Z',
  lastError: null,
  lastDriftAt: null,
});

const operation = (ccsId: string): OperationRecord => ({
  id: randomUUID(),
  ccsId,
  kind: 'update',
  status: 'Running',
  phase: 'preflight',
  baseGeneration: 0,
  targetGeneration: 1,
  proposed: DISABLED_STATE,
  changedFields: ['enabled'],
  requestedBy: 't',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  preflightDeadline: '2026-01-01T00:01:00.000Z',
  deadline: '2026-01-01T00:15:00.000Z',
  error: null,
});

const row = (operationId: string, host: string, preflight: 'pending' | 'failed' = 'pending') => ({
  operationId,
  host,
  preflight,
  apply: 'pending' as const,
  error: null,
  updatedAt: '2026-01-01T00:00:00.000Z',
});

export function describeStoreContract(name: string, stores: () => Stores): void {
  describe(`${name}: desired state`, () => {
    it('creates once, replaces only with the ETag it was read at, and says null when it lost', async () => {
      const { desired } = stores();
      const id = unique('d');
      const created = await desired.save(ccs(id), null);
      expect(created).not.toBeNull();
      expect(await desired.save(ccs(id), null)).toBeNull();
      const read = (await desired.get(id))!;
      expect(read.record).toEqual(ccs(id));
      expect(await desired.save(ccs(id, 2), read.etag)).not.toBeNull();
      expect(await desired.save(ccs(id, 3), read.etag)).toBeNull();
      expect((await desired.get(id))!.record.generation).toBe(2);
      expect((await desired.list()).map((r) => r.ccsId)).toContain(id);
      expect(await desired.get(unique('none'))).toBeNull();
    });
  });

  describe(`${name}: hosts`, () => {
    it('keeps one row per host name, whatever its case, listed per ccs-id', async () => {
      const { hosts } = stores();
      const id = unique('h');
      await hosts.put(hostRecord(id, 'WEB-01'));
      await hosts.put(hostRecord(id, 'web-01', 3));
      await hosts.put(hostRecord(unique('other'), 'web-01'));
      expect(await hosts.list(id)).toEqual([hostRecord(id, 'web-01', 3)]);
      expect(await hosts.get(id, 'Web-01')).toEqual(hostRecord(id, 'web-01', 3));
      expect(await hosts.get(id, 'web-02')).toBeNull();
    });
  });

  describe(`${name}: operations`, () => {
    it('lists a running operation as active until it is saved as ended', async () => {
      const { operations } = stores();
      const op = operation(unique('o'));
      const etag = await operations.create(op, [row(op.id, 'web-01')]);
      expect(await operations.activeIds()).toContain(op.id);
      expect(await operations.save({ ...op, phase: 'committing' }, 'W/"stale"')).toBeNull();
      const next = await operations.save({ ...op, phase: 'committing' }, etag);
      expect(next).not.toBeNull();
      expect(await operations.activeIds()).toContain(op.id);
      await operations.save({ ...op, status: 'Succeeded', phase: 'done' }, next!);
      expect(await operations.activeIds()).not.toContain(op.id);
      expect((await operations.get(op.id))!.record).toMatchObject({ status: 'Succeeded', phase: 'done' });
      expect(await operations.get(randomUUID())).toBeNull();
    });

    it("keeps a rotation's plan and force whole across saves", async () => {
      const { operations } = stores();
      const op: OperationRecord = {
        ...operation(unique('o')),
        kind: 'rotate',
        phase: 'staging',
        force: true,
        rotation: {
          path: '\\\\fs\\ccs',
          stage: '.ccs-rotation-k2',
          from: { name: 'pkp', version: 'k1' },
          to: { name: 'pkp', version: 'k2' },
          profile: 'tripledes-sha1',
          round: 1,
          step: { kind: 'stage', host: 'web-01', requestedAt: 't', outcome: 'pending', error: null },
        },
      };
      const etag = await operations.create(op, []);
      expect((await operations.get(op.id))!.record).toEqual(op);
      const moved = { ...op, rotation: { ...op.rotation!, round: 2 as const } };
      await operations.save(moved, etag);
      expect((await operations.get(op.id))!.record).toEqual(moved);
    });

    it('finds host rows by step and status in host order, and sets a step without reading it', async () => {
      const { operations } = stores();
      const op = operation(unique('o'));
      await operations.create(op, [
        row(op.id, 'web-03'),
        row(op.id, 'web-01', 'failed'),
        row(op.id, 'web-02'),
      ]);
      expect((await operations.hostsWhere(op.id, 'preflight', 'pending', 1)).map((r) => r.host)).toEqual([
        'web-02',
      ]);
      expect((await operations.hostsWhere(op.id, 'preflight', 'pending')).map((r) => r.host)).toEqual([
        'web-02',
        'web-03',
      ]);
      const error = { name: 'path', code: 'PathNotFound', detail: 'gone', status: 404 };
      expect(await operations.setHostStep(op.id, 'WEB-02', 'preflight', 'failed', error, 't1')).toBe(true);
      expect(await operations.setHostStep(op.id, 'web-02', 'apply', 'succeeded', undefined, 't2')).toBe(true);
      expect(await operations.host(op.id, 'web-02')).toMatchObject({
        preflight: 'failed',
        apply: 'succeeded',
        error,
        updatedAt: 't2',
      });
      expect(await operations.setHostStep(op.id, 'web-09', 'apply', 'succeeded', null, 't3')).toBe(false);
      expect(await operations.host(op.id, 'web-09')).toBeNull();
      expect((await operations.hosts(op.id)).map((r) => r.host)).toEqual(['web-01', 'web-02', 'web-03']);
    });
  });

  describe(`${name}: audit`, () => {
    const entry = (ccsId: string, at: string): AuditEntry => ({
      id: randomUUID(),
      at,
      who: 'access-token:t',
      ccsId,
      operationId: randomUUID(),
      kind: 'update',
      changes: [{ field: 'path', from: 'a', to: 'b' }],
      status: 'Running',
    });

    it('lists the newest first, narrowed to a ccs-id and cut at top, with the status written last', async () => {
      const { audit } = stores();
      const id = unique('a');
      const old = entry(id, '2026-01-01T00:00:00.000Z');
      const newer = entry(id, '2026-01-02T00:00:00.000Z');
      const elsewhere = entry(unique('b'), '2026-01-03T00:00:00.000Z');
      for (const e of [old, newer, elsewhere]) await audit.append(e);
      await audit.setStatus(old, 'Succeeded');
      expect(await audit.list({ ccsId: id, top: 10 })).toEqual([newer, { ...old, status: 'Succeeded' }]);
      expect(await audit.list({ ccsId: id, top: 1 })).toEqual([newer]);
    });
  });

  describe(`${name}: inventory`, () => {
    it('keeps the lease conditional and a certificate row from going back to an older scan', async () => {
      const { inventory } = stores();
      const id = unique('i');
      const empty = await inventory.getLease(id);
      expect(empty).toEqual({ lease: emptyLease(id), etag: null });
      const etag = await inventory.saveLease({ ...empty.lease, holder: 'web-01' }, null);
      expect(etag).not.toBeNull();
      expect(await inventory.saveLease({ ...empty.lease, holder: 'web-02' }, null)).toBeNull();
      expect((await inventory.getLease(id)).lease.holder).toBe('web-01');

      const file = { name: 'a.pfx', size: 1, modified: 't' } as never;
      const cert = {
        ccsId: id,
        id: 'c1',
        path: 'C:\\c',
        scanSeq: 2,
        deleted: false,
        file,
        renamedFrom: null,
        firstSeen: 't',
        updatedAt: 't',
      };
      expect(await inventory.putCertificates([cert])).toBe(1);
      expect(await inventory.putCertificates([{ ...cert, scanSeq: 1, path: 'old' }])).toBe(0);
      await inventory.removeCertificates(id, ['c1'], 3, 't3');
      expect(await inventory.getCertificate(id, 'c1')).toMatchObject({ deleted: true, scanSeq: 3 });
      expect(await inventory.recordChunk(id, 3, 0)).toBe(1);
      expect(await inventory.recordChunk(id, 3, 1)).toBe(2);
    });
  });
  describe(`${name}: publishing`, () => {
    it('keeps sources and state conditional, large values whole', async () => {
      const { publishing } = stores();
      const id = unique('p');
      expect(await publishing.getSources(id)).toBeNull();
      const certificates = Array.from({ length: 1000 }, (_, i) => ({
        name: `certificate-${String(i).padStart(4, '0')}-${'x'.repeat(100)}`,
        overwrite: i % 2 === 0,
      }));
      const sources = {
        ccsId: id,
        certificates,
        tagSelector: { name: 'ccs', value: 'default', overwrite: false },
        updatedAt: 't',
        updatedBy: 'access-token:t',
      };
      const etag = await publishing.saveSources(sources, null);
      expect(etag).not.toBeNull();
      expect(await publishing.saveSources(sources, null)).toBeNull();
      expect((await publishing.getSources(id))!.record).toEqual(sources);
      expect(await publishing.saveSources({ ...sources, certificates: [] }, 'W/"stale"')).toBeNull();
      expect(await publishing.saveSources({ ...sources, certificates: [] }, etag)).not.toBeNull();

      const empty = await publishing.getState(id);
      expect(empty).toEqual({ state: emptyPublishState(id), etag: null });
      const first = await publishing.saveState({ ...empty.state, seq: 1 }, null);
      expect(first).not.toBeNull();
      expect(await publishing.saveState({ ...empty.state, seq: 2 }, null)).toBeNull();
      expect((await publishing.getState(id)).state.seq).toBe(1);
    });

    it('keeps one row per file whatever its case, never going back to an older run, swept after a run', async () => {
      const { publishing } = stores();
      const id = unique('p');
      const file = (name: string, seq: number): PublishedFileRecord => ({
        ccsId: id,
        file: name,
        source: 'www',
        version: 'v1',
        thumbprint: 'A'.repeat(40),
        profile: 'aes256-sha256',
        passwordVersion: 'p1',
        seq,
        updatedAt: 't',
      });
      await publishing.putFiles([file('www.contoso.com.pfx', 2), file('old.contoso.com.pfx', 1)]);
      await publishing.putFiles([{ ...file('WWW.contoso.com.pfx', 1), version: 'older' }]);
      expect((await publishing.listFiles(id)).map((f) => [f.file, f.version])).toEqual([
        ['old.contoso.com.pfx', 'v1'],
        ['www.contoso.com.pfx', 'v1'],
      ]);
      await publishing.sweepFiles(id, 2);
      expect((await publishing.listFiles(id)).map((f) => f.file)).toEqual(['www.contoso.com.pfx']);
      expect(await publishing.recordChunk(id, 2, 0)).toBe(1);
      expect(await publishing.recordChunk(id, 2, 0)).toBe(1);
      expect(await publishing.recordChunk(id, 2, 1)).toBe(2);
      await publishing.dropReceiptsBefore(id, 3);
      expect(await publishing.recordChunk(id, 2, 1)).toBe(1);
    });
  });
}
