/**
 * The agent's side of bindings: the bound-names preflight check, bindings in hello/result/drift
 * reports and the serving check in an apply's result (with a scripted TLS probe; the real
 * handshakes are in test/integration/serving-check.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { BoundNamesGuard, boundNamesUncovered } from '../../agent/bindings/bound-names.js';
import { agentLogger } from '../../agent/log.js';
import type { ProbeTarget, TlsProbe } from '../../agent/serving/probe.js';
import type { CcsBinding, DesiredState, PreflightCommand } from '../../shared/messages.js';
import { command, fakeThumbprint, fakeVerifyPfx, harness, type Harness } from '../support/agent-fakes.js';

const SHARE = '\\\\files\\ccs';
const OTHER_SHARE = '\\\\files\\ccs2';
const USER = 'CONTOSO\\ccs-reader';
const IDENTITY = 'identity-Pa55';
const OLD_PK = 'old-private-key';
const NEW_PK = 'new-private-key';

const binding = (hostName: string, extra: Partial<CcsBinding> = {}): CcsBinding => ({
  site: 'Contoso',
  hostName,
  port: 443,
  ip: '*',
  sni: true,
  ...extra,
});

/** A probe that serves what `served` says per SNI name (a thumbprint, or a failure detail). */
function scriptedProbe(
  served: Record<string, string | { fail: string }>,
): TlsProbe & { targets: ProbeTarget[] } {
  const targets: ProbeTarget[] = [];
  const probe = (target: ProbeTarget) => {
    targets.push(target);
    const answer = served[target.serverName ?? ''];
    if (answer === undefined)
      return Promise.resolve({ ok: false as const, code: 'ECONNRESET', detail: 'reset' });
    if (typeof answer === 'object')
      return Promise.resolve({ ok: false as const, code: 'X', detail: answer.fail });
    return Promise.resolve({ ok: true as const, thumbprint: answer });
  };
  return Object.assign(probe, { targets });
}

/**
 * A host that applied generation 1 (share SHARE, private-key password OLD_PK) and serves
 * www.contoso.com (exact file) and shop.contoso.com (wildcard file); old.fabrikam.com is bound
 * but its file opens with another password, and new.fabrikam.com has no file at all.
 */
async function applied(
  probe: TlsProbe = scriptedProbe({}),
): Promise<Harness & { current: DesiredState; next: (pk: string, path?: string) => DesiredState }> {
  const h = harness({ probe });
  h.backend.addShare(SHARE, USER, IDENTITY, {
    'www.contoso.com.pfx': OLD_PK,
    '_.contoso.com.pfx': OLD_PK,
    'old.fabrikam.com.pfx': 'some-other-password',
    'other.contoso.net.pfx': NEW_PK,
  });
  h.backend.addShare(OTHER_SHARE, USER, IDENTITY, { 'www.contoso.com.pfx': OLD_PK });
  h.backend.bindings = [
    binding('www.contoso.com'),
    binding('shop.contoso.com'),
    binding('old.fabrikam.com'),
    binding('new.fabrikam.com', { site: 'Fabrikam' }),
  ];
  const identity = h.store.put('ccs-farm-a-identity-password', IDENTITY);
  const current: DesiredState = {
    enabled: true,
    path: SHARE,
    username: USER,
    password: identity,
    privateKeyPassword: h.store.put('ccs-farm-a-private-key-password', OLD_PK),
  };
  h.queue.push(command('apply', 1, current));
  await h.agent.pollOnce();
  h.reports.sent.length = 0;
  const next = (pk: string, path = SHARE): DesiredState => ({
    ...current,
    path,
    privateKeyPassword: h.store.put('ccs-farm-a-private-key-password', pk),
  });
  return { ...h, current, next };
}

function guard(h: Harness): BoundNamesGuard {
  return new BoundNamesGuard({
    backend: h.backend,
    state: h.state,
    secrets: h.secrets,
    environment: {},
    verifyPfx: fakeVerifyPfx,
    log: agentLogger(() => {}),
  });
}

const resolvedOf = (desired: DesiredState, pk: string) => ({
  enabled: true as const,
  path: desired.path!,
  username: USER,
  password: IDENTITY,
  privateKeyPassword: pk,
});

describe('the bound-names preflight check', () => {
  it('a private-key password that no longer opens the served names fails with 409 naming them', async () => {
    const h = await applied();
    const next = h.next(NEW_PK);
    const error = await guard(h).check(next, resolvedOf(next, NEW_PK));
    expect(error).toEqual({
      name: 'private_key_password',
      code: 'BoundNamesUncovered',
      status: 409,
      detail:
        'The change would leave 2 bound host names without a certificate the new settings can open: shop.contoso.com, www.contoso.com',
      hostNames: ['shop.contoso.com', 'www.contoso.com'],
    });
  });

  it('names without a usable file before the change never fail it', async () => {
    const h = await applied();
    h.backend.bindings = [binding('old.fabrikam.com'), binding('new.fabrikam.com')];
    const next = h.next(NEW_PK);
    expect(await guard(h).check(next, resolvedOf(next, NEW_PK))).toBeNull();
  });

  it('passes when the files were re-encrypted with the new password first', async () => {
    const h = await applied();
    h.backend.addShare(SHARE, USER, IDENTITY, { 'www.contoso.com.pfx': NEW_PK, '_.contoso.com.pfx': NEW_PK });
    const next = h.next(NEW_PK);
    expect(await guard(h).check(next, resolvedOf(next, NEW_PK))).toBeNull();
  });

  it('a path whose share lacks a served name’s file fails on `path`', async () => {
    const h = await applied();
    const next = h.next(OLD_PK, OTHER_SHARE);
    const error = await guard(h).check(next, resolvedOf(next, OLD_PK));
    expect(error).toMatchObject({ name: 'path', status: 409, hostNames: ['shop.contoso.com'] });
  });

  it('an identity-only change has nothing to check here (the share check covers it)', async () => {
    const h = await applied();
    const reads = h.backend.bindingReads;
    const next = { ...h.current, password: h.store.put('ccs-farm-a-identity-password', 'rotated') };
    expect(await guard(h).check(next, resolvedOf(next, OLD_PK))).toBeNull();
    expect(h.backend.bindingReads).toBe(reads);
  });

  it('without bindings, or when they cannot be read, the change passes as before', async () => {
    const h = await applied();
    const next = h.next(NEW_PK);
    h.backend.bindings = [];
    expect(await guard(h).check(next, resolvedOf(next, NEW_PK))).toBeNull();
    h.backend.bindingsError = new Error('applicationHost.config: not well-formed XML at line 3');
    expect(await guard(h).check(next, resolvedOf(next, NEW_PK))).toBeNull();
  });

  it('nothing is served before the first enable: it never fails', async () => {
    const h = harness({ probe: scriptedProbe({}) });
    h.backend.addShare(SHARE, USER, IDENTITY, { 'www.contoso.com.pfx': OLD_PK });
    h.backend.bindings = [binding('www.contoso.com')];
    const desired: DesiredState = {
      enabled: true,
      path: SHARE,
      username: USER,
      password: h.store.put('i', IDENTITY),
      privateKeyPassword: h.store.put('p', NEW_PK),
    };
    expect(await guard(h).check(desired, resolvedOf(desired, NEW_PK))).toBeNull();
  });

  it('lists at most 100 names; the detail counts all of them', () => {
    const names = Array.from({ length: 250 }, (_, i) => `s${String(i).padStart(3, '0')}.contoso.com`);
    const error = boundNamesUncovered('path', names);
    expect(error.hostNames).toHaveLength(100);
    expect(error.detail).toMatch(/leave 250 bound host names .*, and 245 more$/);
  });
});

describe('the bound-names check in the agent loop', () => {
  it('a preflight fails with BoundNamesUncovered and changes nothing', async () => {
    const h = await applied();
    h.queue.push(command('preflight', 2, h.next(NEW_PK)));
    await h.agent.pollOnce();
    const [result] = h.reports.ofType('result');
    expect(result).toMatchObject({ phase: 'preflight', outcome: 'failed', appliedGeneration: 1 });
    expect(result!.error).toMatchObject({ code: 'BoundNamesUncovered', status: 409 });
    expect(h.backend.applied).toHaveLength(1);
  });

  it('`force` skips it', async () => {
    const h = await applied();
    const forced = { ...(command('preflight', 2, h.next(NEW_PK)) as PreflightCommand), force: true };
    h.queue.push(forced);
    await h.agent.pollOnce();
    expect(h.reports.ofType('result')[0]).toMatchObject({ outcome: 'succeeded', error: null });
  });

  it('an apply never fails on it: the change was agreed in phase one (or is a catch-up)', async () => {
    const h = await applied();
    h.queue.push(command('apply', 2, h.next(NEW_PK)));
    await h.agent.pollOnce();
    expect(h.reports.ofType('result')[0]).toMatchObject({
      phase: 'apply',
      outcome: 'succeeded',
      appliedGeneration: 2,
    });
  });
});

describe('bindings in reports', () => {
  it('hello carries the bindings inline', async () => {
    const h = await applied();
    await h.agent.sendHello();
    const [hello] = h.reports.ofType('hello');
    expect(hello!.bindings).toMatchObject({ total: 4, error: null });
    expect(hello!.bindings!.items!.map((b) => b.hostName)).toEqual([
      'www.contoso.com',
      'shop.contoso.com',
      'old.fabrikam.com',
      'new.fabrikam.com',
    ]);
  });

  it('a long list goes by digest in hello, its chunks first', async () => {
    const h = await applied();
    h.backend.bindings = Array.from({ length: 3000 }, (_, i) => binding(`s${i}.contoso.com`));
    await h.agent.sendHello();
    const types = h.reports.sent.map((r) => r.type);
    expect(types.at(-1)).toBe('hello');
    const chunks = h.reports.ofType('bindings');
    expect(chunks.length).toBeGreaterThan(1);
    const hello = h.reports.ofType('hello')[0]!;
    expect(hello.bindings).toMatchObject({ total: 3000, error: null });
    expect(hello.bindings!.items).toBeUndefined();
    expect(chunks.every((c) => c.digest === hello.bindings!.digest)).toBe(true);
    expect(chunks.flatMap((c) => c.bindings)).toHaveLength(3000);
  });

  it('the drift check reports a change of the bindings once', async () => {
    const h = await applied();
    await h.agent.sendHello();
    await h.agent.checkDrift();
    expect(h.reports.ofType('bindings')).toHaveLength(0);

    h.backend.bindings = [binding('www.contoso.com', { port: 8443 })];
    await h.agent.checkDrift();
    await h.agent.checkDrift();
    const reports = h.reports.ofType('bindings');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      total: 1,
      chunk: { index: 0, count: 1 },
      error: null,
      appliedGeneration: 1,
    });
    expect(reports[0]!.bindings).toEqual([binding('www.contoso.com', { port: 8443 })]);
  });

  it('a configuration that cannot be read is reported (once) as BindingsUnreadable', async () => {
    const h = await applied();
    await h.agent.sendHello();
    h.backend.bindingsError = new Error(
      'C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config: not well-formed XML at line 7',
    );
    await h.agent.checkDrift();
    await h.agent.checkDrift();
    const reports = h.reports.ofType('bindings');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ digest: null, bindings: [], error: { code: 'BindingsUnreadable' } });
    expect(reports[0]!.error!.detail).toMatch(/not well-formed XML at line 7/);
  });

  it('a bindings report that could not be sent is sent again at the next drift check', async () => {
    const h = await applied();
    await h.agent.sendHello();
    h.backend.bindings = [binding('www.contoso.com', { port: 8443 })];
    h.reports.failNext = 1;
    expect(await h.agent.checkDrift()).toBe(false);
    expect(await h.agent.checkDrift()).toBe(true);
    expect(h.reports.ofType('bindings')).toHaveLength(1);
  });
});

describe('the serving check after an apply', () => {
  it('reports ok, mismatch, failed and skipped per binding in the apply result', async () => {
    const probe = scriptedProbe({
      'www.contoso.com': fakeThumbprint(OLD_PK),
      'shop.contoso.com': fakeThumbprint('something else'),
      'old.fabrikam.com': { fail: 'reset' },
    });
    const h = await applied(probe);
    h.backend.bindings.push(binding('', { site: 'Catch-all' }));
    h.queue.push(command('apply', 2, { ...h.current }));
    await h.agent.pollOnce();
    const [result] = h.reports.ofType('result');
    expect(result!.serving!.counts).toEqual({ ok: 1, mismatch: 1, failed: 2, skipped: 1 });
    const byName = Object.fromEntries(result!.serving!.results.map((r) => [r.hostName, r]));
    expect(byName['www.contoso.com']).toMatchObject({ status: 'ok', file: 'www.contoso.com.pfx' });
    expect(byName['shop.contoso.com']).toMatchObject({ status: 'mismatch', file: '_.contoso.com.pfx' });
    expect(byName['old.fabrikam.com']).toMatchObject({ status: 'failed', expected: null });
    expect(byName['old.fabrikam.com']!.detail).toMatch(/does not open with the store's private-key password/);
    expect(byName['new.fabrikam.com']!.detail).toMatch(/the store has no file for new\.fabrikam\.com/);
    expect(byName['']).toMatchObject({ status: 'skipped' });
    expect(result!.bindings).toMatchObject({ total: 5 });
    expect(probe.targets.every((t) => t.address === '127.0.0.1' && t.port === 443)).toBe(true);
  });

  it('preflights and superseded applies carry bindings but no serving check', async () => {
    const h = await applied();
    h.queue.push(command('preflight', 2, h.current));
    h.queue.push(command('apply', 1, h.current));
    await h.agent.pollOnce();
    await h.agent.pollOnce();
    const results = h.reports.ofType('result');
    expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'superseded']);
    expect(results.every((r) => r.bindings?.total === 4 && r.serving === undefined)).toBe(true);
  });
});
