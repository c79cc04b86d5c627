/**
 * When a ccs-id's share is published and by whom (shared/publishing/schedule.ts), and what a
 * Key Vault certificate event means (functions/eventgrid/certificate-new-version.ts): pure rules.
 */
import { describe, expect, it } from 'vitest';
import { certificateOfEvent } from '../../functions/eventgrid/certificate-new-version.js';
import { emptyPublishState, type PublishState } from '../../shared/publishing/model.js';
import { chunkSources, nextRun, runDigest, type RunRequest } from '../../shared/publishing/schedule.js';

const INTERVAL = 5_000;
const now = new Date('2026-01-01T00:10:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const run: RunRequest = {
  path: '\\\\fs\\ccs',
  privateKeyPassword: { name: 'ccs-default-private-key-password', version: 'k1' },
  profile: 'aes256-sha256',
  sources: [{ name: 'www', version: 'v1', format: 'pfx' }],
  keep: [],
};
const decide = (state: Partial<PublishState>, extra: { holder?: string | null; rotating?: boolean } = {}) =>
  nextRun({
    state: { ...emptyPublishState('default'), ...state },
    run,
    holder: extra.holder === undefined ? 'web-01' : extra.holder,
    rotating: extra.rotating ?? false,
    now,
    intervalMs: INTERVAL,
  });
const reported = { seq: 3, reportedSeq: 3, reportedAt: ago(1000), completedDigest: runDigest(run) };

describe('publish runs: when and by whom', () => {
  it('asks the elected host for a run when what it would write changed', () => {
    expect(decide({})).toMatchObject({ host: 'web-01', seq: 1, reason: 'changed' });
    expect(decide(reported)).toBeNull();
    const renewed = { ...run, sources: [{ name: 'www', version: 'v2', format: 'pfx' as const }] };
    expect(runDigest(renewed)).not.toBe(runDigest(run));
    expect(runDigest({ ...run, privateKeyPassword: { name: 'p', version: 'k2' } })).not.toBe(runDigest(run));
  });

  it('names the same run by the same digest whatever the order of its sources', () => {
    const two = [
      { name: 'a', version: '1', format: 'pfx' as const },
      { name: 'b', version: '1', format: 'pem' as const },
    ];
    expect(runDigest({ ...run, sources: two })).toBe(runDigest({ ...run, sources: [...two].reverse() }));
  });

  it('waits for an outstanding run, and asks again of the lease holder after two silent intervals', () => {
    const outstanding = { ...reported, seq: 4, requestedAt: ago(INTERVAL), completedDigest: 'old' };
    expect(decide(outstanding)).toBeNull();
    expect(decide({ ...outstanding, requestedAt: ago(2 * INTERVAL) }, { holder: 'web-02' })).toMatchObject({
      host: 'web-02',
      seq: 5,
      reason: 'unanswered',
    });
  });

  it('hands an outstanding run to the new lease holder at once when its publisher lost the lease', () => {
    const outstanding = {
      ...reported,
      seq: 4,
      host: 'web-01',
      requestedAt: ago(INTERVAL / 5),
      completedDigest: 'old',
    };
    expect(decide(outstanding, { holder: 'WEB-01' })).toBeNull();
    expect(decide(outstanding, { holder: 'web-02' })).toMatchObject({
      host: 'web-02',
      seq: 5,
      reason: 'handover',
    });
  });

  it("asks for a run once a dead run's temporary files are old enough to remove, at most once an interval", () => {
    expect(decide({ ...reported, orphansDueAt: ago(-1000) })).toBeNull();
    expect(decide({ ...reported, orphansDueAt: ago(1) })).toBeNull(); // the last run reported < an interval ago
    expect(decide({ ...reported, reportedAt: ago(INTERVAL), orphansDueAt: ago(1) })).toMatchObject({
      reason: 'orphans',
    });
    expect(decide({ ...reported, reportedAt: ago(INTERVAL), orphansDueAt: null })).toBeNull();
  });

  it('retries a failed run after an interval, and repeats a good one daily', () => {
    const error = { name: 'path', code: 'ShareFull', detail: 'full', status: 409 };
    expect(decide({ ...reported, lastError: error })).toBeNull();
    expect(decide({ ...reported, lastError: error, reportedAt: ago(INTERVAL) })).toMatchObject({
      reason: 'retry',
    });
    expect(decide({ ...reported, reportedAt: ago(24 * 3600 * 1000) })).toMatchObject({ reason: 'daily' });
    // A source refused because Key Vault did not give its secret (throttled, down) is retried too.
    const unavailable = {
      ...reported,
      sourceErrors: [
        { source: 'www', version: 'v1', code: 'secret_unavailable' as const, detail: 'HTTP 429' },
      ],
    };
    expect(decide(unavailable)).toBeNull();
    expect(decide({ ...unavailable, reportedAt: ago(INTERVAL) })).toMatchObject({ reason: 'retry' });
    const refused = {
      ...unavailable,
      sourceErrors: [{ ...unavailable.sourceErrors[0]!, code: 'expired' as const }],
    };
    expect(decide({ ...refused, reportedAt: ago(INTERVAL) })).toBeNull();
  });

  it('publishes nothing while a rotation owns the share or no host is elected', () => {
    expect(decide({}, { rotating: true })).toBeNull();
    expect(decide({}, { holder: null })).toBeNull();
  });

  it('sends 1,000 sources in chunks under the queue limit, and an empty run as one chunk', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({
      name: `c${i}`,
      version: 'v',
      format: 'pfx' as const,
    }));
    expect(chunkSources(many).map((c) => c.length)).toEqual([300, 300, 300, 100]);
    expect(chunkSources([])).toEqual([[]]);
  });
});

describe('Event Grid: Key Vault certificate events', () => {
  const event = (
    data: Record<string, unknown>,
    eventType = 'Microsoft.KeyVault.CertificateNewVersionCreated',
  ) => ({
    id: '1',
    eventType,
    subject: 'fabrikam-web',
    data,
    dataVersion: '1',
  });

  it('takes the certificate name from the event data, as Key Vault sends it', () => {
    expect(
      certificateOfEvent(
        event({
          Id: 'x',
          VaultName: 'kv',
          ObjectType: 'Certificate',
          ObjectName: 'fabrikam-web',
          Version: 'abc',
        }),
      ),
    ).toBe('fabrikam-web');
    expect(certificateOfEvent(event({ objectName: 'contoso-web' }))).toBe('contoso-web');
  });

  it('ignores other events and names that are not Key Vault names', () => {
    expect(
      certificateOfEvent(event({ ObjectName: 'a' }, 'Microsoft.KeyVault.SecretNewVersionCreated')),
    ).toBeNull();
    expect(certificateOfEvent(event({ ObjectName: 'not/a name' }))).toBeNull();
    expect(certificateOfEvent('garbage')).toBeNull();
  });
});
