/**
 * The gate in front of all report folding (issue 17): a report is folded only when the key
 * registered for the host it names signed it (shared/report-signature.ts). It is checked as it
 * came off the queue, before schema parsing — parsing drops members the schema does not know, and
 * the signature covers them. Unsigned, wrongly signed and unknown-host reports go to the poison
 * queue with a log line and change nothing; a hello presenting a key that is not registered is
 * handed to enrolment (a code registers it, else it waits for approval).
 */
import type { Logger } from '../log.js';
import { HelloReportSchema, HostPublicKeySchema, type HostPublicKey } from '../messages.js';
import { isCcsId, isHostName } from '../names.js';
import type { PoisonQueue } from '../ports.js';
import { jwkThumbprint, verifyReportSignature } from '../report-signature.js';
import type { EnrolmentService } from './enrolment-service.js';

/** `trusted`: fold it. `pending`: a host waiting for approval (nothing folded). `refused`: poisoned. */
export type Admission = 'trusted' | 'pending' | 'refused';

/** What the report service asks before folding anything. */
export interface ReportAdmission {
  admit(message: unknown): Promise<Admission>;
}

interface Claim {
  ccsId: string;
  host: string;
  type: string;
  /** The key a hello presents (agents that sign send it in every hello). */
  hostKey: HostPublicKey | null;
}

/** The members trust needs, read without the schema (it must not drop what the signature covers). */
function claimOf(message: unknown): Claim | null {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const raw = message as Record<string, unknown>;
  const { ccsId, host, type } = raw;
  if (typeof ccsId !== 'string' || !isCcsId(ccsId) || typeof host !== 'string' || !isHostName(host))
    return null;
  const hostKey = type === 'hello' ? HostPublicKeySchema.safeParse(raw.hostKey) : undefined;
  const known = typeof type === 'string' && /^[a-z]{1,16}$/.test(type) ? type : 'unknown';
  return { ccsId, host, type: known, hostKey: hostKey?.success ? hostKey.data : null };
}

export class ReportTrust implements ReportAdmission {
  constructor(
    private readonly enrolment: Pick<EnrolmentService, 'registration' | 'admitKey' | 'recentKey'>,
    private readonly poison: PoisonQueue,
    private readonly log: Logger,
  ) {}

  async admit(message: unknown): Promise<Admission> {
    const claim = claimOf(message);
    if (!claim) return this.refuse(message, null, 'MalformedReport', 'no valid ccsId and host');
    // The key read lately, when the report verifies under it (host-key-cache.ts). Anything
    // else — another key presented, a signature that does not verify — reads the record again.
    const recent = this.enrolment.recentKey(claim.ccsId, claim.host);
    if (
      recent &&
      (claim.hostKey === null || jwkThumbprint(claim.hostKey) === recent.thumbprint) &&
      verifyReportSignature(message, recent.key).ok
    ) {
      return 'trusted';
    }
    const registration = await this.enrolment.registration(claim.ccsId, claim.host);
    const registered = registration?.record.key ?? null;
    const presentsNewKey =
      claim.hostKey !== null && jwkThumbprint(claim.hostKey) !== registration?.record.thumbprint;
    if (registered && !presentsNewKey) {
      const check = verifyReportSignature(message, registered);
      return check.ok ? 'trusted' : this.refuse(message, claim, check.code, check.detail);
    }
    if (!claim.hostKey) {
      const unsigned = (message as Record<string, unknown>).sig === undefined;
      return this.refuse(
        message,
        claim,
        unsigned ? 'ReportUnsigned' : 'UnknownHost',
        'no key is registered for this host',
      );
    }
    // A hello with a key that is not registered: it must prove it holds that key…
    const possession = verifyReportSignature(message, claim.hostKey);
    if (!possession.ok) return this.refuse(message, claim, possession.code, possession.detail);
    const hello = HelloReportSchema.safeParse(message);
    if (!hello.success) return this.refuse(message, claim, 'MalformedReport', 'not a valid hello');
    // …then enrolment decides whether the key speaks for the host (a code) or waits (approval).
    const admission = await this.enrolment.admitKey({ ...hello.data, hostKey: claim.hostKey }, registration);
    if (admission === 'refused')
      return this.refuse(message, claim, 'EnrolmentRefused', 'the key was not admitted');
    return admission === 'enrolled' ? 'trusted' : 'pending';
  }

  private async refuse(
    message: unknown,
    claim: Claim | null,
    code: string,
    detail: string,
  ): Promise<Admission> {
    this.log.warn('report refused and moved to the poison queue', {
      code,
      detail,
      ccsId: claim?.ccsId,
      host: claim?.host,
      type: claim?.type,
    });
    await this.poison.add(typeof message === 'string' ? message : JSON.stringify(message ?? null));
    return 'refused';
  }
}
