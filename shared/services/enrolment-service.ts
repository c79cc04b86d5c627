/**
 * Enrolment (issue 17): which key speaks for which host. A write-role caller creates one-time
 * codes (stored as hashes, shown once); a new host's first hello proves a code without sending it
 * (shared/enrolment.ts) and its key is registered. A host without a valid proof — new, or rebuilt
 * with a new key — waits as pending until an administrator approves the key whose thumbprint they
 * compared with `ccs-agent status` on the host. Every report is then checked against the
 * registered key (shared/services/report-trust.ts).
 */
import { randomUUID } from 'node:crypto';
import { generateEnrolmentCode, hashEnrolmentCode, verifyEnrolmentProof } from '../enrolment.js';
import { DomainError, invalid, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { HelloReport, HostPublicKey } from '../messages.js';
import { MESSAGE_VERSION } from '../messages.js';
import type { HostKeyRecord, PendingHostKey } from '../model.js';
import { assertCcsId, isHostName } from '../names.js';
import type { Clock, Stores, Versioned } from '../ports.js';
import { jwkThumbprint } from '../report-signature.js';
import type { Caller } from './ccs-service.js';
import { HostKeyCache, type CachedKey } from './host-key-cache.js';

/** Hosts of one ccs-id that may wait for approval at once: a reports-queue writer cannot flood the list. */
export const MAX_PENDING_HOSTS = 500;
/** Spent and expired codes are deleted this long after they expire. */
const CODE_RETENTION_MS = 7 * 24 * 3600_000;

/** Folds a hello the API already trusts (an approved host's pending hello): the report service. */
export interface HelloFolder {
  foldHello(hello: HelloReport): Promise<void>;
}

/** What `admitKey` decided about a key presented in a verified hello. */
export type KeyAdmission = 'enrolled' | 'pending' | 'refused';

export interface NewEnrolmentCode {
  id: string;
  /** The code itself: returned once, never stored. */
  code: string;
  expiresAt: string;
}

export class EnrolmentService {
  /** Registered keys report verification used lately (host-key-cache.ts: what revocation keeps). */
  private readonly keys: HostKeyCache;

  constructor(
    private readonly stores: Pick<Stores, 'enrolment' | 'audit'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly folder: HelloFolder,
  ) {
    this.keys = new HostKeyCache(() => this.clock.now().getTime());
  }

  /** POST …/enrolment-codes: a new single-use code, valid for `ttlMinutes`. */
  async createCode(ccsId: string, ttlMinutes: number, caller: Caller): Promise<NewEnrolmentCode> {
    assertCcsId(ccsId);
    const now = this.clock.now();
    const code = generateEnrolmentCode();
    const record = {
      ccsId,
      id: randomUUID(),
      hash: hashEnrolmentCode(code),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMinutes * 60_000).toISOString(),
      createdBy: caller.id,
      usedAt: null,
      usedBy: null,
    };
    await this.stores.enrolment.pruneCodes(ccsId, new Date(now.getTime() - CODE_RETENTION_MS).toISOString());
    const entry = await this.audit(ccsId, record.id, 'enrolment-code', caller, [
      { field: 'enrolment_code', from: null, to: `${record.id} (expires ${record.expiresAt})` },
    ]);
    await this.failedUnless(
      entry,
      this.stores.enrolment.addCode(record).then(() => true),
    );
    this.log.info('enrolment code created', { ccsId, codeId: record.id, expiresAt: record.expiresAt });
    return { id: record.id, code, expiresAt: record.expiresAt };
  }

  /** Every host key record of a ccs-id (registered and pending). */
  hostKeys(ccsId: string): Promise<HostKeyRecord[]> {
    return this.stores.enrolment.listHostKeys(assertCcsId(ccsId));
  }

  /** The record a report of this host is checked against, read from the table (and remembered). */
  async registration(ccsId: string, host: string): Promise<Versioned<HostKeyRecord> | null> {
    const found = await this.stores.enrolment.getHostKey(ccsId, host);
    const { key, thumbprint } = found?.record ?? {};
    this.keys.remember(ccsId, host, key && thumbprint ? { key, thumbprint } : null);
    return found;
  }

  /** The host's registered key as read lately (KEY_CACHE_TTL_MS), or null: then read `registration`. */
  recentKey(ccsId: string, host: string): CachedKey | null {
    return this.keys.get(ccsId, host);
  }

  /** Every write of a key record goes through here: this process forgets the key it had. */
  private async saveHostKey(record: HostKeyRecord, etag: string | null): Promise<string | null> {
    const { ccsId, host, key, thumbprint } = record;
    this.keys.forget(ccsId, host);
    const saved = await this.stores.enrolment.saveHostKey(record, etag).catch((error: unknown) => {
      this.keys.forget(ccsId, host);
      throw error;
    });
    // After the write too: a read under way meanwhile may have remembered the key it replaced.
    this.keys.remember(ccsId, host, saved !== null && key && thumbprint ? { key, thumbprint } : null);
    return saved;
  }

  /**
   * POST …/hosts/{name}/approve: register the key the host is waiting with, if it is still the one
   * whose `thumbprint` the approver compared; then its pending hello is folded (its queue is made
   * and it is sent the current desired state).
   */
  async approve(ccsId: string, host: string, thumbprint: string, caller: Caller): Promise<HostKeyRecord> {
    assertCcsId(ccsId);
    if (!isHostName(host)) throw invalid('name', 'name must be a computer name or FQDN');
    const found = await this.stores.enrolment.getHostKey(ccsId, host);
    const pending = found?.record.pending;
    if (!found || !pending) {
      throw notFound('name', 'No host of that name is waiting for approval', 'HostNotPending');
    }
    if (pending.thumbprint !== thumbprint) {
      throw new DomainError(
        'conflict',
        'ThumbprintMismatch',
        "The host's pending key has another thumbprint; list the pending hosts and compare again",
        'thumbprint',
      );
    }
    const previous = found.record.thumbprint;
    const approved = this.registered(found.record, pending.key, `approval:${caller.id}`);
    const entry = await this.audit(ccsId, randomUUID(), 'host-approval', caller, [
      { field: `hosts.${found.record.host}.key`, from: previous, to: thumbprint },
    ]);
    const saved = this.saveHostKey(approved, found.etag).then((etag) => etag !== null);
    if (!(await this.failedUnless(entry, saved))) {
      throw new DomainError(
        'conflict',
        'ConcurrentUpdate',
        "The host's enrolment changed meanwhile; list the pending hosts and compare again",
        'name',
      );
    }
    this.log.info('host approved', { ccsId, host, thumbprint, replaced: previous ?? undefined });
    await this.folder.foldHello({
      v: MESSAGE_VERSION,
      type: 'hello',
      ccsId,
      host: found.record.host,
      ...pending.hello,
    });
    return approved;
  }

  /**
   * A verified hello (its signature checks against `hello.hostKey`) presents a key that is not
   * this host's registered one: register it if the hello proves an unused, unexpired code of the
   * ccs-id (spending it with a conditional write: one host per code, however many race), else
   * keep it pending for an administrator.
   */
  async admitKey(
    hello: HelloReport & { hostKey: HostPublicKey },
    existing: Versioned<HostKeyRecord> | null,
  ): Promise<KeyAdmission> {
    const { ccsId, host } = hello;
    const base: HostKeyRecord = existing?.record ?? {
      ccsId,
      host,
      key: null,
      thumbprint: null,
      enrolledAt: null,
      enrolledBy: null,
      pending: null,
    };
    const codeId = hello.enrolmentProof ? await this.spendMatchingCode(hello) : null;
    if (codeId) {
      const enrolled = this.registered(base, hello.hostKey, `code:${codeId}`);
      if ((await this.saveHostKey(enrolled, existing?.etag ?? null)) !== null) {
        this.log.info(base.key ? 'host re-enrolled with a code' : 'host enrolled with a code', {
          ccsId,
          host,
          codeId,
          thumbprint: enrolled.thumbprint,
        });
        return 'enrolled';
      }
      // Another writer changed the record meanwhile: trust only what is stored now.
      const now = await this.stores.enrolment.getHostKey(ccsId, host);
      return now?.record.thumbprint === enrolled.thumbprint ? 'enrolled' : 'refused';
    }
    return this.keepPending(hello, base, existing);
  }

  private async keepPending(
    hello: HelloReport & { hostKey: HostPublicKey },
    base: HostKeyRecord,
    existing: Versioned<HostKeyRecord> | null,
  ): Promise<KeyAdmission> {
    const at = this.clock.now().toISOString();
    const thumbprint = jwkThumbprint(hello.hostKey);
    const samePending = base.pending?.thumbprint === thumbprint;
    if (!base.pending) {
      const waiting = (await this.stores.enrolment.listHostKeys(hello.ccsId)).filter((r) => r.pending);
      if (waiting.length >= MAX_PENDING_HOSTS) {
        this.log.warn('pending host refused: too many hosts wait for approval', {
          ccsId: hello.ccsId,
          host: hello.host,
          pending: waiting.length,
        });
        return 'refused';
      }
    }
    const pending: PendingHostKey = {
      key: hello.hostKey,
      thumbprint,
      firstSeen: samePending ? base.pending!.firstSeen : at,
      lastSeen: at,
      hello: {
        agentVersion: hello.agentVersion,
        backend: hello.backend,
        actual: hello.actual,
        appliedGeneration: hello.appliedGeneration,
        at: hello.at,
      },
    };
    // A lost race leaves the other writer's pending key: it is listed and approved the same way.
    await this.saveHostKey({ ...base, pending }, existing?.etag ?? null);
    if (!samePending) {
      this.log.warn('host waits for approval', {
        ccsId: hello.ccsId,
        host: hello.host,
        thumbprint,
        registered: base.thumbprint ?? undefined,
        proof: hello.enrolmentProof ? 'no unused code matches' : 'none',
      });
    }
    return 'pending';
  }

  /** The id of the code the hello's proof was made with, once this writer has spent it; else null. */
  private async spendMatchingCode(hello: HelloReport & { hostKey: HostPublicKey }): Promise<string | null> {
    const now = this.clock.now().toISOString();
    for (const { record, etag } of await this.stores.enrolment.activeCodes(hello.ccsId, now)) {
      if (!verifyEnrolmentProof(hello.enrolmentProof!, record.hash, hello.ccsId, hello.host, hello.hostKey)) {
        continue;
      }
      const spent = { ...record, usedAt: now, usedBy: hello.host };
      if ((await this.stores.enrolment.saveCode(spent, etag)) !== null) return record.id;
      this.log.warn('enrolment code already spent by another host', {
        ccsId: hello.ccsId,
        codeId: record.id,
      });
      return null;
    }
    return null;
  }

  private registered(base: HostKeyRecord, key: HostPublicKey, by: string): HostKeyRecord {
    return {
      ...base,
      key,
      thumbprint: jwkThumbprint(key),
      enrolledAt: this.clock.now().toISOString(),
      enrolledBy: by,
      pending: null,
    };
  }

  /**
   * The audit entry comes first, as for changes (an enrolment action without one cannot happen);
   * `failedUnless` marks it Failed when the action then did not take place.
   */
  private async audit(
    ccsId: string,
    id: string,
    kind: 'enrolment-code' | 'host-approval',
    caller: Caller,
    changes: { field: string; from: string | null; to: string }[],
  ): Promise<{ operationId: string; at: string }> {
    const at = this.clock.now().toISOString();
    await this.stores.audit.append({
      id: randomUUID(),
      at,
      who: caller.id,
      ...(caller.name ? { whoName: caller.name } : {}),
      ccsId,
      operationId: id,
      kind,
      changes,
      status: 'Succeeded',
    });
    return { operationId: id, at };
  }

  private async failedUnless(
    entry: { operationId: string; at: string },
    done: Promise<boolean>,
  ): Promise<boolean> {
    const ok = await done.catch(async (error: unknown) => {
      await this.stores.audit.setStatus(entry, 'Failed').catch(() => undefined);
      throw error;
    });
    if (!ok) await this.stores.audit.setStatus(entry, 'Failed');
    return ok;
  }
}
