/**
 * Reports bound to their hosts, on the API side (shared/services/report-trust.ts,
 * enrolment-service.ts), on in-memory stores: only a report signed by the key registered for the
 * host it names is folded; a hello proves a one-time code (spent exactly once, even by racing
 * hosts) or waits for an administrator's approval; a rebuilt host's new key replaces the old one
 * only through a code or an approval. Nothing refused changes a row.
 */
import { describe, expect, it } from 'vitest';
import { hashEnrolmentCode } from '../../shared/enrolment.js';
import {
  MESSAGE_VERSION,
  type Command,
  type HelloReport,
  type Report,
  type ResultReport,
} from '../../shared/messages.js';
import type { Clock, CommandBus, PoisonQueue } from '../../shared/ports.js';
import { jwkThumbprint, signReport, type ReportSigner } from '../../shared/report-signature.js';
import { EnrolmentService, MAX_PENDING_HOSTS } from '../../shared/services/enrolment-service.js';
import { OperationEngine } from '../../shared/services/operation-engine.js';
import { ReportService } from '../../shared/services/report-service.js';
import { ReportTrust } from '../../shared/services/report-trust.js';
import { enrolmentProof } from '../../shared/enrolment.js';
import { memoryStores } from '../support/memory-stores.js';
import { newHostKey } from '../support/fake-host.js';

const CCS = 'farm-a';
const ADMIN = { id: 'access-token:admin' };

class RecordingBus implements CommandBus {
  sent: Command[] = [];
  queues: string[] = [];
  ensureHostQueue(ccsId: string, host: string): Promise<void> {
    this.queues.push(`${ccsId}/${host}`);
    return Promise.resolve();
  }
  send(command: Command): Promise<void> {
    this.sent.push(command);
    return Promise.resolve();
  }
}

function setup() {
  const stores = memoryStores();
  const clock: Clock & { t: number } = {
    t: Date.parse('2026-06-01T12:00:00Z'),
    now() {
      return new Date(this.t);
    },
  };
  const bus = new RecordingBus();
  const poisoned: string[] = [];
  const poison: PoisonQueue = { add: (text) => Promise.resolve(void poisoned.push(text)) };
  const lines: Record<string, unknown>[] = [];
  const log = {
    info: (msg: string, fields = {}) => lines.push({ level: 'info', msg, ...fields }),
    warn: (msg: string, fields = {}) => lines.push({ level: 'warn', msg, ...fields }),
    error: (msg: string, fields = {}) => lines.push({ level: 'error', msg, ...fields }),
  };
  const engine = new OperationEngine(stores, bus, clock, log, {
    preflightTimeoutMs: 10_000,
    operationTimeoutMs: 60_000,
  });
  const enrolment = new EnrolmentService(stores, clock, log, {
    foldHello: (hello) => reports.foldHello(hello),
  });
  const reports: ReportService = new ReportService(
    stores,
    bus,
    poison,
    engine,
    clock,
    log,
    new ReportTrust(enrolment, poison, log),
  );
  /** A message as it comes off the queue: JSON, so nothing of the signed object survives but data. */
  const deliver = (report: object) => reports.handle(JSON.parse(JSON.stringify(report)) as unknown);
  return { stores, clock, bus, poisoned, lines, enrolment, reports, deliver };
}

const hello = (host: string, key: ReportSigner, extra: Partial<HelloReport> = {}): HelloReport => ({
  v: MESSAGE_VERSION,
  type: 'hello',
  ccsId: CCS,
  host,
  agentVersion: '1.0',
  backend: 'simulated',
  actual: { enabled: false, path: null, username: null },
  appliedGeneration: 0,
  at: '2026-06-01T12:00:00.000Z',
  hostKey: key.publicKey,
  ...extra,
});

const result = (host: string, extra: Partial<ResultReport> = {}): ResultReport => ({
  v: MESSAGE_VERSION,
  type: 'result',
  ccsId: CCS,
  host,
  operationId: null,
  phase: 'apply',
  generation: 7,
  outcome: 'failed',
  error: { name: 'identity', code: 'Forged', detail: 'forged', status: 400 },
  actual: { enabled: true, path: '\\\\evil\\share', username: 'EVIL\\user' },
  appliedGeneration: 7,
  at: '2026-06-01T12:00:00.000Z',
  ...extra,
});

const signed = <T extends Report>(report: T, key: ReportSigner) => signReport(report, key);

async function newCode(t: ReturnType<typeof setup>, ttlMinutes = 60): Promise<string> {
  return (await t.enrolment.createCode(CCS, ttlMinutes, ADMIN)).code;
}

/** A hello of a new host that proves `code`. */
const helloWithCode = (host: string, key: ReportSigner, code: string) =>
  signed(hello(host, key, { enrolmentProof: enrolmentProof(code, CCS, host, key.publicKey) }), key);

describe('enrolment with a one-time code', () => {
  it('stores only the hash, enrols the host whose hello proves it, and folds that hello', async () => {
    const t = setup();
    const created = await t.enrolment.createCode(CCS, 30, ADMIN);
    const stored = [...t.stores.enrolment.codes.values()];
    expect(stored).toEqual([
      expect.objectContaining({
        hash: hashEnrolmentCode(created.code),
        expiresAt: '2026-06-01T12:30:00.000Z',
      }),
    ]);
    expect(JSON.stringify(stored)).not.toContain(created.code);
    const key = newHostKey();
    expect(await t.deliver(helloWithCode('web-01', key, created.code))).toBe('processed');
    expect(await t.stores.hosts.get(CCS, 'web-01')).toMatchObject({ agentVersion: '1.0' });
    expect(t.bus.queues).toEqual([`${CCS}/web-01`]);
    const registered = (await t.stores.enrolment.getHostKey(CCS, 'web-01'))!.record;
    expect(registered).toMatchObject({
      key: key.publicKey,
      thumbprint: jwkThumbprint(key.publicKey),
      enrolledBy: `code:${created.id}`,
      pending: null,
    });
    expect([...t.stores.enrolment.codes.values()][0]).toMatchObject({ usedBy: 'web-01' });
    // The audit log says who created it, never the code.
    expect(t.stores.audit.entries).toMatchObject([
      { kind: 'enrolment-code', who: 'access-token:admin', ccsId: CCS, status: 'Succeeded' },
    ]);
    expect(JSON.stringify(t.stores.audit.entries)).not.toContain(created.code);
    // From now on its signed reports are folded, with the same key.
    expect(await t.deliver(signed(result('web-01'), key))).toBe('processed');
  });

  it('spends a code once: a second host with the same code waits for approval, even when they race', async () => {
    const t = setup();
    const code = await newCode(t);
    const [a, b, c] = [newHostKey(), newHostKey(), newHostKey()];
    const outcomes = await Promise.all([
      t.deliver(helloWithCode('web-01', a, code)),
      t.deliver(helloWithCode('web-02', b, code)),
    ]);
    expect(outcomes.sort()).toEqual(['pending', 'processed']);
    expect(await t.deliver(helloWithCode('web-03', c, code))).toBe('pending');
    expect((await t.stores.hosts.list(CCS)).map((h) => h.host)).toHaveLength(1);
  });

  it('does not take an expired code, a code of another ccs-id, or a proof bound to another key', async () => {
    const t = setup();
    const expiring = await newCode(t, 1);
    t.clock.t += 61_000;
    const key = newHostKey();
    expect(await t.deliver(helloWithCode('web-01', key, expiring))).toBe('pending');
    const other = (await t.enrolment.createCode('farm-b', 60, ADMIN)).code;
    expect(await t.deliver(helloWithCode('web-02', newHostKey(), other))).toBe('pending');
    // A proof read off the queue, replayed with the attacker's own key: it is bound to the first key.
    const code = await newCode(t);
    const victim = newHostKey();
    const attacker = newHostKey();
    const proof = enrolmentProof(code, CCS, 'web-03', victim.publicKey);
    expect(await t.deliver(signed(hello('web-03', attacker, { enrolmentProof: proof }), attacker))).toBe(
      'pending',
    );
    expect(await t.stores.hosts.list(CCS)).toEqual([]);
  });
});

describe('approval of a pending host', () => {
  it('folds nothing while pending, then registers exactly the key whose thumbprint was compared', async () => {
    const t = setup();
    await t.stores.desired.save(
      {
        ccsId: CCS,
        desired: {
          enabled: true,
          path: 'C:\\certs',
          username: 'u',
          password: null,
          privateKeyPassword: null,
        },
        generation: 3,
        updatedAt: 't',
        lastOperationId: null,
      },
      null,
    );
    const key = newHostKey();
    expect(await t.deliver(signed(hello('web-01', key, { appliedGeneration: 1 }), key))).toBe('pending');
    expect(await t.stores.hosts.get(CCS, 'web-01')).toBeNull();
    expect(t.bus.queues).toEqual([]);
    expect(t.bus.sent).toEqual([]);
    // Its other reports are refused until then.
    expect(await t.deliver(signed(result('web-01'), key))).toBe('refused');
    const thumbprint = jwkThumbprint(key.publicKey);
    expect((await t.enrolment.hostKeys(CCS))[0]?.pending?.thumbprint).toBe(thumbprint);

    await expect(
      t.enrolment.approve(CCS, 'web-01', jwkThumbprint(newHostKey().publicKey), ADMIN),
    ).rejects.toMatchObject({ kind: 'conflict', field: 'thumbprint' });
    await expect(t.enrolment.approve(CCS, 'web-09', thumbprint, ADMIN)).rejects.toMatchObject({
      kind: 'not-found',
      field: 'name',
    });
    const approved = await t.enrolment.approve(CCS, 'web-01', thumbprint, ADMIN);
    expect(approved).toMatchObject({ thumbprint, enrolledBy: 'approval:access-token:admin', pending: null });
    // Its pending hello is folded: row, queue, and the current state since it is behind.
    expect(await t.stores.hosts.get(CCS, 'web-01')).toMatchObject({ appliedGeneration: 1 });
    expect(t.bus.queues).toEqual([`${CCS}/web-01`]);
    expect(t.bus.sent).toMatchObject([{ type: 'apply', host: 'web-01', generation: 3 }]);
    expect(t.stores.audit.entries.map((e) => e.kind)).toEqual(['host-approval']);
    expect(t.stores.audit.entries[0]!.changes).toEqual([
      { field: 'hosts.web-01.key', from: null, to: thumbprint },
    ]);
    expect(await t.deliver(signed(result('web-01'), key))).toBe('processed');
  });

  it('keeps a rebuilt host’s old key until its new one is approved or proves a code', async () => {
    const t = setup();
    const old = newHostKey();
    await t.deliver(helloWithCode('web-01', old, await newCode(t)));
    const rebuilt = newHostKey();
    expect(await t.deliver(signed(hello('web-01', rebuilt), rebuilt))).toBe('pending');
    // The new key speaks for nobody yet; the registered one still does.
    expect(await t.deliver(signed(result('web-01'), rebuilt))).toBe('refused');
    expect(await t.deliver(signed(result('web-01', { outcome: 'superseded', error: null }), old))).toBe(
      'processed',
    );
    // A new code replaces the key; the old one is refused from then on.
    expect(await t.deliver(helloWithCode('web-01', rebuilt, await newCode(t)))).toBe('processed');
    expect((await t.stores.enrolment.getHostKey(CCS, 'web-01'))!.record).toMatchObject({
      thumbprint: jwkThumbprint(rebuilt.publicKey),
      pending: null,
    });
    expect(await t.deliver(signed(result('web-01'), old))).toBe('refused');
  });

  it('caps how many hosts of a ccs-id may wait, so a reports-queue writer cannot flood the list', async () => {
    const t = setup();
    for (let i = 0; i < MAX_PENDING_HOSTS; i++) {
      const key = { publicKey: newHostKey().publicKey, privateKey: newHostKey().privateKey };
      await t.stores.enrolment.saveHostKey(
        {
          ccsId: CCS,
          host: `h${i}`,
          key: null,
          thumbprint: null,
          enrolledAt: null,
          enrolledBy: null,
          pending: {
            key: key.publicKey,
            thumbprint: 't',
            firstSeen: 't',
            lastSeen: 't',
            hello: {
              agentVersion: '1',
              backend: 'x',
              actual: hello('x', key).actual,
              appliedGeneration: 0,
              at: 't',
            },
          },
        },
        null,
      );
    }
    const key = newHostKey();
    expect(await t.deliver(signed(hello('one-too-many', key), key))).toBe('refused');
    expect(t.poisoned).toHaveLength(1);
  });
});

describe('reports that do not come from the host they name', () => {
  async function enrolled() {
    const t = setup();
    const keys = { a: newHostKey(), b: newHostKey() };
    await t.deliver(helloWithCode('web-a', keys.a, await newCode(t)));
    await t.deliver(helloWithCode('web-b', keys.b, await newCode(t)));
    const rows = JSON.stringify(await t.stores.hosts.list(CCS));
    const logged = t.lines.length;
    return { ...t, keys, rows, logged };
  }

  it('refuses — to the poison queue, with a log line — a report claiming another host, unsigned or signed with the wrong key, and changes no row', async () => {
    const t = await enrolled();
    const forged = [
      result('web-b'), // unsigned
      signed(result('web-b'), t.keys.a), // web-a's own key, claiming web-b
      {
        ...signed(result('web-b'), t.keys.a),
        sig: { ...signed(result('web-b'), t.keys.a).sig, kid: jwkThumbprint(t.keys.b.publicKey) },
      }, // under web-b's kid
      signed(result('web-x'), t.keys.a), // a host nobody enrolled
      signed(hello('web-b', t.keys.a, { hostKey: t.keys.b.publicKey }), t.keys.a), // a hello presenting web-b's key
    ];
    for (const report of forged) expect(await t.deliver(report)).toBe('refused');
    expect(t.poisoned).toHaveLength(forged.length);
    expect(JSON.stringify(await t.stores.hosts.list(CCS))).toBe(t.rows);
    const refusals = t.lines
      .slice(t.logged)
      .filter((l) => l.msg === 'report refused and moved to the poison queue');
    expect(refusals.map((l) => l.code)).toEqual([
      'ReportUnsigned',
      'WrongHostKey',
      'InvalidReportSignature',
      'UnknownHost',
      'WrongHostKey',
    ]);
    expect(refusals.every((l) => l.level === 'warn' && l.ccsId === CCS)).toBe(true);
  });

  it('verifies before parsing: a member the schema does not know is covered, and changing it is refused', async () => {
    const t = await enrolled();
    const withFuture = signed(
      { ...result('web-a', { outcome: 'superseded', error: null }), future: 'x' } as Report,
      t.keys.a,
    );
    expect(await t.deliver(withFuture)).toBe('processed');
    expect(await t.deliver({ ...withFuture, future: 'y' })).toBe('refused');
    const { future: _dropped, ...stripped } = withFuture as Report & { future: string };
    expect(await t.deliver(stripped)).toBe('refused');
  });

  it('refuses a hello signed with another key than the one it presents (no proof of possession)', async () => {
    const t = setup();
    const presented = newHostKey();
    const signer = newHostKey();
    const code = await newCode(t);
    const report = signed(
      hello('web-01', presented, {
        enrolmentProof: enrolmentProof(code, CCS, 'web-01', presented.publicKey),
      }),
      signer,
    );
    expect(await t.deliver(report)).toBe('refused');
    expect(await t.stores.enrolment.getHostKey(CCS, 'web-01')).toBeNull();
    expect((await t.stores.enrolment.activeCodes(CCS, t.clock.now().toISOString())).length).toBe(1);
  });

  it('refuses what is not a report of a valid ccs-id and host without looking anything up', async () => {
    const t = setup();
    for (const junk of [null, 'text', [], { ccsId: 'Bad_Id', host: 'web' }, { ccsId: CCS, host: '..' }]) {
      expect(await t.reports.handle(junk)).toBe('refused');
    }
    expect(t.poisoned).toHaveLength(5);
  });
});
