/**
 * The contracts of shared/ports.ts's stores, as one suite run against every implementation: the
 * Table storage adapters on Azurite (test/integration/table-stores.test.ts) and the in-memory
 * stand-ins the unit tests use (test/unit/memory-stores.test.ts). A stand-in that is kinder than
 * the real adapter fails here.
 */
import { DEFAULT_POLICY, type RolloutPolicy } from '../../shared/rollout/policy.js';
import type { RolloutProgress } from '../../shared/rollout/model.js';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, CcsRecord, HostRecord, OperationRecord } from '../../shared/model.js';
import { emptyLease } from '../../shared/model.js';
import type { Stores } from '../../shared/ports.js';
import { DISABLED_STATE, type CcsBinding } from '../../shared/messages.js';
import { emptyBindingsHead, type ServingRecord } from '../../shared/bindings/model.js';
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

    it('writes rows of one ccs-id in one transaction: all or nothing, naming the write that lost', async () => {
      const { hosts } = stores();
      const id = unique('t');
      const created = await hosts.writeAll(id, [
        { record: hostRecord(id, 'web-01', 1), etag: null },
        { record: hostRecord(id, 'WEB-02', 1), etag: null },
      ]);
      if (!('etags' in created)) throw new Error('the creates should apply');
      const [first, second] = created.etags;
      expect(await hosts.read(id, 'web-02')).toEqual({ record: hostRecord(id, 'WEB-02', 1), etag: second });
      // Creating a row that exists loses, as does a stale ETag; nothing of the transaction is written.
      expect(
        await hosts.writeAll(id, [
          { record: hostRecord(id, 'web-01', 2), etag: first! },
          { record: hostRecord(id, 'web-02', 2), etag: null },
        ]),
      ).toEqual({ lost: 1 });
      expect(
        await hosts.writeAll(id, [
          { record: hostRecord(id, 'web-03', 2), etag: null },
          { record: hostRecord(id, 'web-01', 2), etag: first! },
          { record: hostRecord(id, 'web-02', 2), etag: first! },
        ]),
      ).toEqual({ lost: 2 });
      expect(await hosts.get(id, 'web-03')).toBeNull();
      expect((await hosts.get(id, 'web-01'))?.appliedGeneration).toBe(1);
      const replaced = await hosts.writeAll(id, [{ record: hostRecord(id, 'web-01', 3), etag: first! }]);
      expect('etags' in replaced && (await hosts.read(id, 'web-01'))?.etag === replaced.etags[0]).toBe(true);
      expect(await hosts.read(id, 'web-09')).toBeNull();
    });

    it("refuses a transaction Table storage refuses: over 100 rows, a host twice, another ccs-id's row", async () => {
      const { hosts } = stores();
      const id = unique('t');
      const many = Array.from({ length: 101 }, (_, i) => ({
        record: hostRecord(id, `web-${i}`),
        etag: null,
      }));
      await expect(hosts.writeAll(id, many)).rejects.toThrow();
      await expect(
        hosts.writeAll(id, [
          { record: hostRecord(id, 'web-01'), etag: null },
          { record: hostRecord(id, 'WEB-01'), etag: null },
        ]),
      ).rejects.toThrow();
      await expect(
        hosts.writeAll(id, [{ record: hostRecord(unique('other'), 'web-01'), etag: null }]),
      ).rejects.toThrow();
      expect(await hosts.list(id)).toEqual([]);
      expect(await hosts.writeAll(id, many.slice(0, 100))).toHaveProperty('etags');
      expect(await hosts.list(id)).toHaveLength(100);
    }, 30_000);
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

    it('replaces a host row only with the ETag it was read with: any write in between wins', async () => {
      const { operations } = stores();
      const op = operation(unique('o'));
      await operations.create(op, [row(op.id, 'web-01')]);
      const read = (await operations.getHost(op.id, 'WEB-01'))!;
      expect(read.record).toMatchObject({ host: 'web-01', preflight: 'pending' });
      const error = { name: 'path', code: 'PathNotFound', detail: 'gone', status: 404 };
      // A result merged between the read and the write (setHostStep) changes the ETag too.
      expect(await operations.setHostStep(op.id, 'web-01', 'preflight', 'failed', error, 't1')).toBe(true);
      const lost = { ...read.record, preflight: 'unreachable' as const, updatedAt: 't2' };
      expect(await operations.saveHost(lost, read.etag)).toBeNull();
      expect((await operations.host(op.id, 'web-01'))?.preflight).toBe('failed');
      const again = (await operations.getHost(op.id, 'web-01'))!;
      const next = await operations.saveHost(
        { ...again.record, apply: 'skipped', updatedAt: 't3' },
        again.etag,
      );
      expect(next).toEqual(expect.any(String));
      expect(await operations.host(op.id, 'web-01')).toMatchObject({
        preflight: 'failed',
        apply: 'skipped',
        error,
      });
      expect(await operations.saveHost({ ...again.record, apply: 'failed' }, again.etag)).toBeNull();
      expect(await operations.getHost(op.id, 'web-09')).toBeNull();
      expect(await operations.saveHost({ ...again.record, host: 'web-09' }, again.etag)).toBeNull();
      expect(await operations.host(op.id, 'web-09')).toBeNull();
    });

    it("sets several hosts' steps in one transaction, all or nothing: a host without a row is named", async () => {
      const { operations } = stores();
      const op = operation(unique('o'));
      await operations.create(op, [row(op.id, 'web-01'), row(op.id, 'web-02'), row(op.id, 'web-03')]);
      const error = { name: 'path', code: 'PathNotFound', detail: 'gone', status: 404 };
      expect(
        await operations.setHostSteps(op.id, [
          { host: 'WEB-01', steps: { preflight: 'succeeded' }, updatedAt: 't1' },
          { host: 'web-02', steps: { preflight: 'failed' }, error, updatedAt: 't1' },
        ]),
      ).toBeNull();
      expect(
        await operations.setHostSteps(op.id, [
          { host: 'web-03', steps: { preflight: 'succeeded', apply: 'succeeded' }, updatedAt: 't2' },
          { host: 'web-09', steps: { preflight: 'succeeded' }, updatedAt: 't2' },
        ]),
      ).toEqual({ missing: 1 });
      const rows = await operations.hosts(op.id);
      expect(rows.map((r) => [r.host, r.preflight, r.apply, r.error, r.updatedAt])).toEqual([
        ['web-01', 'succeeded', 'pending', null, 't1'],
        ['web-02', 'failed', 'pending', error, 't1'],
        // Not written: the transaction failed as a whole.
        ['web-03', 'pending', 'pending', null, '2026-01-01T00:00:00.000Z'],
      ]);
      await expect(
        operations.setHostSteps(op.id, [
          { host: 'web-01', steps: { apply: 'succeeded' }, updatedAt: 't3' },
          { host: 'web-01', steps: { apply: 'failed' }, updatedAt: 't3' },
        ]),
      ).rejects.toThrow();
      expect((await operations.host(op.id, 'web-01'))?.apply).toBe('pending');
    });

    it('reads every host row with its ETag and replaces several conditionally, all or nothing', async () => {
      const { operations } = stores();
      const op = operation(unique('o'));
      await operations.create(op, [row(op.id, 'web-01'), row(op.id, 'WEB-02'), row(op.id, 'web-03')]);
      const read = await operations.getHosts(op.id);
      expect(read.map((r) => [r.record.host, r.etag])).toEqual([
        ['web-01', expect.any(String)],
        ['WEB-02', expect.any(String)],
        ['web-03', expect.any(String)],
      ]);
      const [one, two, three] = read as [(typeof read)[0], (typeof read)[0], (typeof read)[0]];
      const passed = (r: typeof one, at: string) => ({
        record: { ...r.record, preflight: 'succeeded' as const, updatedAt: at },
        etag: r.etag,
      });
      const saved = await operations.saveHosts(op.id, [passed(one, 't1'), passed(two, 't1')]);
      expect(saved).toEqual({ etags: [expect.any(String), expect.any(String)] });
      const etags = (saved as { etags: string[] }).etags;
      expect((await operations.getHost(op.id, 'web-01'))!.etag).toBe(etags[0]);
      // web-02's ETag is stale now: nothing is written, web-03's replace included.
      expect(await operations.saveHosts(op.id, [passed(three, 't2'), passed(two, 't2')])).toEqual({
        lost: 1,
      });
      expect((await operations.host(op.id, 'web-03'))?.preflight).toBe('pending');
      // A merge changes the ETag too.
      const fresh = (await operations.getHost(op.id, 'web-03'))!;
      expect(
        await operations.setHostSteps(op.id, [
          { host: 'web-03', steps: { apply: 'skipped' }, updatedAt: 't3' },
        ]),
      ).toBeNull();
      expect(await operations.saveHosts(op.id, [passed(fresh, 't4')])).toEqual({ lost: 0 });
      // A host without a row is named as lost: replaces never create.
      const ghost = { record: { ...one.record, host: 'web-09' }, etag: etags[0]! };
      expect(await operations.saveHosts(op.id, [{ record: one.record, etag: etags[0]! }, ghost])).toEqual({
        lost: 1,
      });
      expect(await operations.host(op.id, 'web-09')).toBeNull();
      expect((await operations.host(op.id, 'web-01'))?.updatedAt).toBe('t1');
      await expect(
        operations.saveHosts(op.id, [
          { record: one.record, etag: etags[0]! },
          { record: { ...one.record, host: 'WEB-01' }, etag: etags[0]! },
        ]),
      ).rejects.toThrow();
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

  describe(`${name}: bindings`, () => {
    const binding = (i: number): CcsBinding => ({
      site: `Site ${i}`,
      hostName: `h${i}.bücher.example`,
      port: 443,
      ip: '*',
      sni: true,
    });

    it('keeps a head per host conditionally, and reads a set back only when every part is there', async () => {
      const { bindings } = stores();
      const id = unique('b');
      const head = { ...emptyBindingsHead(id, 'WEB-01'), digest: 'd1', total: 3, set: 'c.d1.2', at: 't2' };
      const etag = await bindings.saveHead(head, null);
      expect(etag).not.toBeNull();
      expect(await bindings.saveHead(head, null)).toBeNull();
      expect((await bindings.head(id, 'web-01'))!.record).toEqual(head);
      expect(await bindings.saveHead({ ...head, total: 4 }, 'W/"stale"')).toBeNull();
      expect(await bindings.heads(id)).toEqual([head]);
      expect(await bindings.head(id, 'web-02')).toBeNull();

      // A part of tens of kilobytes (spread over columns in a table row).
      const many = Array.from({ length: 600 }, (_, i) => binding(i));
      await bindings.putPart({
        ccsId: id,
        host: 'web-01',
        set: 'c.d1.2',
        index: 1,
        at: 't2',
        bindings: many,
      });
      expect(await bindings.countParts(id, 'web-01', 'c.d1.2')).toBe(1);
      expect(await bindings.readSet(id, 'web-01', 'c.d1.2', 2)).toBeNull();
      await bindings.putPart({
        ccsId: id,
        host: 'Web-01',
        set: 'c.d1.2',
        index: 0,
        at: 't2',
        bindings: [binding(9)],
      });
      expect(await bindings.countParts(id, 'web-01', 'c.d1.2')).toBe(2);
      expect(await bindings.readSet(id, 'web-01', 'c.d1.2', 2)).toEqual([binding(9), ...many]);

      await bindings.putPart({ ccsId: id, host: 'web-01', set: 'c.d0.1', index: 0, at: 't1', bindings: [] });
      await bindings.putPart({ ccsId: id, host: 'web-01', set: 'c.d3.1', index: 0, at: 't3', bindings: [] });
      await bindings.dropParts(id, 'web-01', 'c.d1.2', 't2');
      expect(await bindings.countParts(id, 'web-01', 'c.d0.1')).toBe(0);
      expect(await bindings.countParts(id, 'web-01', 'c.d3.1')).toBe(1);
      expect(await bindings.countParts(id, 'web-01', 'c.d1.2')).toBe(2);
    });
  });

  describe(`${name}: serving`, () => {
    const check = (
      ccsId: string,
      host: string,
      generation: number,
      at = `t${generation}`,
    ): ServingRecord => ({
      ccsId,
      host,
      generation,
      operationId: generation % 2 === 0 ? null : `op-${generation}`,
      at,
      counts: { ok: 1, mismatch: 0, failed: 0, skipped: 0 },
      results: [
        {
          site: 'S',
          hostName: 'www.contoso.com',
          port: 443,
          ip: '*',
          status: 'ok',
          detail: 'Serves www.contoso.com.pfx',
          file: 'www.contoso.com.pfx',
          expected: 'A'.repeat(40),
          served: 'A'.repeat(40),
        },
      ],
      omitted: 0,
    });

    it('finds a host’s newest check at or below a generation, and every host’s check of one', async () => {
      const { serving } = stores();
      const id = unique('s');
      for (const g of [1, 2, 5]) await serving.put(check(id, 'web-01', g));
      await serving.put(check(id, 'WEB-02', 5));
      await serving.put(check(id, 'web-01', 3));
      expect((await serving.latest(id, 'web-01'))!.generation).toBe(5);
      expect(await serving.latest(id, 'web-01', 4)).toEqual(check(id, 'web-01', 3));
      expect((await serving.latest(id, 'web-01', 2))!.operationId).toBeNull();
      expect(await serving.latest(id, 'web-01', 0)).toBeNull();
      expect((await serving.atGeneration(id, 5)).map((r) => r.host)).toEqual(['web-01', 'WEB-02']);
      expect((await serving.latestOfEach(id)).map((r) => [r.host, r.generation])).toEqual([
        ['web-01', 5],
        ['WEB-02', 5],
      ]);
      // The same generation again (a host rebuilt) replaces it.
      await serving.put(check(id, 'web-01', 5, 't9'));
      expect((await serving.atGeneration(id, 5)).find((r) => r.host === 'web-01')!.at).toBe('t9');
    });

    it('keeps a bounded history per host', async () => {
      const { serving } = stores();
      const id = unique('s');
      for (let g = 1; g <= 23; g++) await serving.put(check(id, 'web-01', g));
      expect(await serving.latest(id, 'web-01', 3)).toBeNull();
      expect((await serving.latest(id, 'web-01', 4))!.generation).toBe(4);
      expect(await serving.atGeneration(id, 2)).toEqual([]);
    });

    it('stores checks put at the same time as if one by one: the newest stays latest, the history bounded', async () => {
      const { serving } = stores();
      const id = unique('s');
      const hosts = Array.from({ length: 30 }, (_, i) => `web-${String(i).padStart(2, '0')}`);
      // More checks at once than one transaction takes; a host's older and newer checks mixed.
      await Promise.all(hosts.map((h) => serving.put(check(id, h, 7))));
      await Promise.all([
        ...hosts.map((h) => serving.put(check(id, h, 8, 't8'))),
        serving.put(check(id, 'web-00', 6)),
        serving.put(check(id, 'WEB-01', 8, 't9')),
      ]);
      const latest = await serving.latestOfEach(id);
      expect(latest).toHaveLength(30);
      expect(latest.every((r) => r.generation === 8)).toBe(true);
      expect(latest.find((r) => r.host.toLowerCase() === 'web-01')!.at).toBe('t9');
      expect((await serving.atGeneration(id, 8)).length).toBe(30);
      expect((await serving.atGeneration(id, 6)).map((r) => r.host)).toEqual(['web-00']);
      // A late check of an older generation joins the history without becoming the latest.
      await serving.put(check(id, 'web-02', 5));
      expect((await serving.latest(id, 'web-02'))!.generation).toBe(8);
      expect((await serving.latest(id, 'web-02', 6))!.generation).toBe(5);
      // A host's history stays bounded when its checks come together.
      await Promise.all(Array.from({ length: 25 }, (_, g) => serving.put(check(id, 'web-03', 10 + g))));
      expect((await serving.latest(id, 'web-03'))!.generation).toBe(34);
      expect(await serving.latest(id, 'web-03', 14)).toBeNull();
      expect((await serving.latest(id, 'web-03', 15))!.generation).toBe(15);
      expect(await serving.atGeneration(id, 7)).toHaveLength(29);
    });
  });

  describe(`${name}: enrolment`, () => {
    const key = { kty: 'EC' as const, crv: 'P-256' as const, x: 'x'.repeat(43), y: 'y'.repeat(43) };
    const code = (ccsId: string, id: string, expiresAt: string) => ({
      ccsId,
      id,
      hash: 'a'.repeat(64),
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt,
      createdBy: 'access-token:t',
      usedAt: null,
      usedBy: null,
    });

    it('keeps one key record per host, whatever its case, replaced only with its ETag', async () => {
      const { enrolment } = stores();
      const id = unique('e');
      const record = {
        ccsId: id,
        host: 'WEB-01',
        key: null,
        thumbprint: null,
        enrolledAt: null,
        enrolledBy: null,
        pending: {
          key,
          thumbprint: 't'.repeat(43),
          firstSeen: 't1',
          lastSeen: 't1',
          hello: {
            agentVersion: '1',
            backend: 'simulated',
            actual: { enabled: false, path: null, username: null },
            appliedGeneration: 0,
            at: 't1',
          },
        },
      };
      const etag = await enrolment.saveHostKey(record, null);
      expect(etag).not.toBeNull();
      expect(await enrolment.saveHostKey(record, null)).toBeNull();
      const read = (await enrolment.getHostKey(id, 'web-01'))!;
      expect(read.record).toEqual(record);
      const enrolled = {
        ...record,
        key,
        thumbprint: 't'.repeat(43),
        enrolledAt: 't2',
        enrolledBy: 'code:c',
        pending: null,
      };
      expect(await enrolment.saveHostKey(enrolled, read.etag)).not.toBeNull();
      expect(await enrolment.saveHostKey({ ...enrolled, key: null }, read.etag)).toBeNull();
      expect(await enrolment.listHostKeys(id)).toEqual([enrolled]);
      expect(await enrolment.listHostKeys(unique('other'))).toEqual([]);
      expect(await enrolment.getHostKey(id, 'web-02')).toBeNull();
    });

    it('lists only unused, unexpired codes and lets exactly one writer spend each', async () => {
      const { enrolment } = stores();
      const id = unique('c');
      await enrolment.addCode(code(id, 'live', '2026-01-01T02:00:00.000Z'));
      await enrolment.addCode(code(id, 'old', '2026-01-01T00:30:00.000Z'));
      await enrolment.addCode(code(unique('other'), 'elsewhere', '2026-01-01T02:00:00.000Z'));
      const now = '2026-01-01T01:00:00.000Z';
      const active = await enrolment.activeCodes(id, now);
      expect(active.map((c) => c.record.id)).toEqual(['live']);
      const spent = { ...active[0]!.record, usedAt: now, usedBy: 'web-01' };
      expect(await enrolment.saveCode(spent, active[0]!.etag)).not.toBeNull();
      expect(await enrolment.saveCode({ ...spent, usedBy: 'web-02' }, active[0]!.etag)).toBeNull();
      expect(await enrolment.activeCodes(id, now)).toEqual([]);
      await enrolment.pruneCodes(id, now);
      await enrolment.addCode(code(id, 'old', '2026-01-01T03:00:00.000Z'));
      expect((await enrolment.activeCodes(id, now)).map((c) => c.record.id)).toEqual(['old']);
    });
  });

  describe(`${name}: rate limits`, () => {
    it('creates a window once and replaces it only with the ETag it was read at', async () => {
      const { rateLimits } = stores();
      const key = unique('r');
      const window = { scope: 'identity-change', key, events: ['t1'] };
      const etag = await rateLimits.save(window, null);
      expect(etag).not.toBeNull();
      expect(await rateLimits.save(window, null)).toBeNull();
      expect(await rateLimits.save({ ...window, events: ['t1', 't2'] }, etag)).not.toBeNull();
      expect(await rateLimits.save({ ...window, events: [] }, etag)).toBeNull();
      expect((await rateLimits.get('identity-change', key))?.record).toEqual({
        ...window,
        events: ['t1', 't2'],
      });
      expect(await rateLimits.get('identity-change', unique('none'))).toBeNull();
    });
  });

  describe(`${name}: rollout policies and rollout progress`, () => {
    it('keeps one policy per ccs-id (the last put wins) apart from the desired states', async () => {
      const { rollouts, desired } = stores();
      const id = unique('r');
      expect(await rollouts.get(id)).toBeNull();
      const policy: RolloutPolicy = { ...DEFAULT_POLICY, canary: { names: ['web-01'] }, bakeSeconds: 30 };
      await rollouts.put(id, policy);
      await rollouts.put(id, { ...policy, autoRollback: true, maxConcurrency: { percent: 25 } });
      expect(await rollouts.get(id)).toEqual({
        ...policy,
        autoRollback: true,
        maxConcurrency: { percent: 25 },
      });
      expect((await desired.list()).map((r) => r.ccsId)).not.toContain(id);
    });

    it("keeps an operation's rollout and each host row's wave through every write", async () => {
      const { operations } = stores();
      const op = operation(unique('o'));
      const etag = await operations.create(op, [{ ...row(op.id, 'web-01'), wave: 0 }, row(op.id, 'web-02')]);
      expect((await operations.get(op.id))!.record.rollout ?? null).toBeNull();
      const rollout = sampleRollout();
      await operations.save({ ...op, phase: 'waves', rollout }, etag);
      expect((await operations.get(op.id))!.record.rollout).toEqual(rollout);
      await operations.setHostStep(op.id, 'web-01', 'apply', 'failed', null, 't1');
      expect(await operations.host(op.id, 'web-01')).toMatchObject({ wave: 0, apply: 'failed' });
      expect((await operations.host(op.id, 'web-02'))!.wave ?? null).toBeNull();
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

/** A rollout in the middle of its second wave, with one counted error. */
export function sampleRollout(): RolloutProgress {
  return {
    policy: { ...DEFAULT_POLICY, canary: { count: 1 }, maxConcurrency: { hosts: 2 } },
    state: 'rolling',
    waves: [
      { hosts: 1, startedAt: 't0', settledAt: 't1', deadline: 't9', errors: 1 },
      { hosts: 2, startedAt: 't2', settledAt: null, deadline: 't9', errors: 0 },
    ],
    current: 1,
    bakeUntil: null,
    maxErrors: 1,
    errorCount: 1,
    errors: [
      {
        host: 'web-01',
        wave: 0,
        reason: 'serving_regressed',
        detail: '1 binding no longer served',
        bindings: [
          { site: 'shop', hostName: 'shop.contoso.com', port: 443, status: 'mismatch', detail: 'x' },
        ],
      },
    ],
    accepted: 0,
    request: null,
    previous: DISABLED_STATE,
    rollback: null,
  };
}
