/**
 * What an agent refuses to do even with a genuine command or its own stored state (the review's
 * fixes, docs/reliability.md): reference another ccs-id's secrets, repair drift outside its allowed
 * locations or with another ccs-id's secrets, or — after losing its state — apply a command older
 * than its own hello (a replayed, still unexpired command).
 */
import { describe, expect, it } from 'vitest';
import type { AppliedRecord } from '../../agent/state.js';
import type { Command, DesiredState } from '../../shared/messages.js';
import { signCommand } from '../../shared/signing.js';
import { CCS_ID, command, harness, type Harness } from '../support/agent-fakes.js';

const SHARE = '\\\\files\\ccs';
const USER = 'CONTOSO\\svc';

function ready(options: Parameters<typeof harness>[0] = {}): Harness & { desired: DesiredState } {
  const h = harness(options);
  h.backend.addShare(SHARE, USER, 'share-Pa55');
  h.backend.addShare('\\\\files\\elsewhere', USER, 'share-Pa55');
  const desired: DesiredState = {
    enabled: true,
    path: SHARE,
    username: USER,
    password: h.store.put(`ccs-${CCS_ID}-identity-password`, 'share-Pa55'),
    privateKeyPassword: null,
  };
  return { ...h, desired };
}

describe('secret references', () => {
  it.each([
    ['another ccs-id whose name starts like this one', `ccs-${CCS_ID}-b-identity-password`],
    ['a secret outside the naming scheme', 'ccs-command-signing-key'],
    ['the private-key password in the identity field', `ccs-${CCS_ID}-private-key-password`],
  ])('refuses an apply naming %s, before reading it', async (_what, name) => {
    const h = ready();
    const password = h.store.put(name, 'share-Pa55');
    h.queue.push(command('apply', 1, { ...h.desired, password }));
    await h.agent.pollOnce();
    expect(h.reports.ofType('result')[0]).toMatchObject({
      outcome: 'failed',
      error: { name: 'identity.password', code: 'SecretNotAllowed', status: 403 },
    });
    expect(h.store.reads).toEqual([]);
    expect(h.backend.applied).toEqual([]);
  });

  it("refuses another ccs-id's private-key password", async () => {
    const h = ready();
    const privateKeyPassword = h.store.put('ccs-other-private-key-password', 'pk');
    h.queue.push(command('preflight', 1, { ...h.desired, privateKeyPassword }));
    await h.agent.pollOnce();
    expect(h.reports.ofType('result')[0]?.error).toMatchObject({
      name: 'private_key_password',
      code: 'SecretNotAllowed',
    });
  });
});

describe('drift repair checks what an apply checks', () => {
  const applied = (desired: DesiredState): AppliedRecord => ({
    appliedGeneration: 4,
    desired,
    appliedAt: '2026-01-01T00:00:00Z',
  });

  it('does not restore a path the allow-list no longer covers', async () => {
    const h = ready();
    const outside = { ...h.desired, path: '\\\\files\\elsewhere' };
    const narrowed = ready({ applied: applied(outside) });
    narrowed.backend.actual = { enabled: false, path: null, username: null };
    expect(await narrowed.agent.checkDrift()).toBe(false);
    expect(narrowed.reports.ofType('drift')[0]).toMatchObject({
      repaired: false,
      error: { name: 'path', code: 'PathForbidden', status: 403 },
    });
    expect(narrowed.backend.applied).toEqual([]);
    expect(narrowed.store.reads).toEqual([]);
  });

  it("does not restore with another ccs-id's secret from an edited state file", async () => {
    const h = ready();
    const foreign = h.store.put('ccs-farm-b-identity-password', 'share-Pa55');
    const edited = ready({ applied: applied({ ...h.desired, password: foreign }) });
    edited.backend.actual = { enabled: false, path: null, username: null };
    await edited.agent.checkDrift();
    expect(edited.reports.ofType('drift')[0]).toMatchObject({
      repaired: false,
      error: { code: 'SecretNotAllowed' },
    });
    expect(edited.backend.applied).toEqual([]);
  });

  it('still restores what the allow-list covers (the positive control)', async () => {
    const h = ready();
    const restoring = ready({ applied: applied(h.desired) });
    restoring.backend.actual = { enabled: false, path: null, username: null };
    expect(await restoring.agent.checkDrift()).toBe(true);
    expect(restoring.backend.applied).toHaveLength(1);
  });
});

describe('a host that lost its state', () => {
  const HOUR = 60 * 60 * 1000;

  function rebuilt(applied?: AppliedRecord) {
    const h = ready({ verifySignatures: true, ...(applied && { applied }) });
    const at = (generation: number, issuedAt: number, type: 'apply' | 'preflight' = 'apply'): Command => ({
      ...command(type, generation, h.desired),
      issuedAt: new Date(issuedAt).toISOString(),
    });
    const push = async (c: Command) => h.queue.push(await signCommand(c, h.commandKeys));
    return { ...h, at, push };
  }

  it('applies no command issued before its hello; the answer to the hello is applied, the old one then superseded', async () => {
    const h = rebuilt();
    const start = h.clock.now();
    await h.push(h.at(5, start - HOUR)); // a genuine apply from an hour ago, replayed
    expect(await h.agent.pollOnce()).toBe('deferred');
    expect(h.backend.applied).toEqual([]);
    expect(h.reports.sent).toEqual([]);
    expect(h.queue.messages).toHaveLength(1); // not deleted: it comes back after its visibility timeout
    await h.push(h.at(9, start + 1000)); // the API's answer to the hello: the current generation
    expect(await h.agent.pollOnce()).toBe('handled');
    expect(h.state.record.appliedGeneration).toBe(9);
    h.queue.releaseAll();
    expect(await h.agent.pollOnce()).toBe('handled');
    expect(h.reports.ofType('result').map((r) => [r.generation, r.outcome])).toEqual([
      [9, 'succeeded'],
      [5, 'superseded'],
    ]);
    expect(h.backend.applied).toHaveLength(1);
  });

  it('answers preflights meanwhile (they change nothing) and accepts commands within the clock skew', async () => {
    const h = rebuilt();
    const start = h.clock.now();
    await h.push(h.at(5, start - HOUR, 'preflight'));
    await h.push(h.at(5, start - 60_000));
    expect(await h.agent.pollOnce()).toBe('handled');
    expect(await h.agent.pollOnce()).toBe('handled');
    expect(h.state.record.appliedGeneration).toBe(5);
  });

  it('holds nothing back once it has applied state', async () => {
    const h = rebuilt({ appliedGeneration: 2, desired: null, appliedAt: null });
    await h.push(h.at(5, h.clock.now() - HOUR));
    expect(await h.agent.pollOnce()).toBe('handled');
    expect(h.state.record.appliedGeneration).toBe(5);
  });

  it('sets a held-back command aside after five deliveries, reported against its (signed) operation', async () => {
    const h = rebuilt();
    await h.push(h.at(5, h.clock.now() - HOUR));
    for (let i = 0; i < 5; i++) {
      expect(await h.agent.pollOnce()).toBe('deferred');
      h.queue.releaseAll();
    }
    expect(await h.agent.pollOnce()).toBe('handled');
    expect(h.queue.poisoned).toHaveLength(1);
    expect(h.reports.ofType('result')[0]).toMatchObject({
      generation: 5,
      error: { code: 'CommandAbandoned' },
    });
    expect(h.backend.applied).toEqual([]);
  });
});
