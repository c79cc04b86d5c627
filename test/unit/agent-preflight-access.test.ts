/**
 * Preflight's store checks: every answer of Backend.checkStoreAccess becomes one API error on the
 * right field, the computer account's read is reported apart, and the private-key password is
 * checked first on the file the identity read.
 */
import { describe, expect, it } from 'vitest';
import type { StoreAccess, StoreAccessFailure } from '../../agent/backends/backend.js';
import { storeAccessFailure, win32CodesOf } from '../../agent/backends/store-access.js';
import { preflight, type PreflightDeps } from '../../agent/preflight.js';
import { SecretCache } from '../../agent/secrets.js';
import type { DesiredState } from '../../shared/messages.js';
import { FakeBackend, FakeSecretStore, fakeVerifyPfx } from '../support/agent-fakes.js';

const SHARE = '\\\\files\\ccs';
const USER = 'CONTOSO\\ccs-reader';

/** A host whose store answers `access`, with the files of `pfx` (name → the password that opens it). */
function setup(
  access: StoreAccess,
  pfx: Record<string, string> = {},
  environment: Record<string, string> = {},
) {
  const backend = new (class extends FakeBackend {
    readonly checks: string[] = [];
    override checkStoreAccess(path: string): Promise<StoreAccess> {
      this.checks.push(path);
      return Promise.resolve(access);
    }
  })();
  backend.addShare(SHARE, USER, 'pw', pfx);
  const store = new FakeSecretStore();
  const desired: DesiredState = {
    enabled: true,
    path: SHARE,
    username: USER,
    password: store.put('ccs-farm-a-identity-password', 'pw'),
    privateKeyPassword: store.put('ccs-farm-a-private-key-password', 'right'),
  };
  const deps: PreflightDeps = {
    ccsId: 'farm-a',
    backend,
    secrets: new SecretCache(store),
    allowedLocations: [{ path: SHARE, claims: ['read'] }],
    environment,
    verifyPfx: fakeVerifyPfx,
  };
  return { backend, deps, desired };
}

const failed = (failure: StoreAccessFailure, win32: number): StoreAccess => ({
  identity: { ok: false, failure, win32 },
  agent: null,
});
const passed = (pfx: { name: string; opens: string } | null, agentOk = true): StoreAccess => ({
  identity: { ok: true, pfx: pfx ? { name: pfx.name, bytes: Buffer.from(pfx.opens) } : null },
  agent: agentOk ? { ok: true } : { ok: false, failure: 'AccessDenied', win32: 5 },
});

describe('preflight: the store checks', () => {
  it.each([
    ['LogonFailed', 1326, 'identity', 'IdentityLogonFailed', 400],
    ['LogonTypeNotGranted', 1385, 'identity', 'IdentityLogonTypeNotGranted', 400],
    ['AccountUnavailable', 1909, 'identity', 'IdentityAccountUnavailable', 400],
    ['AccountUnavailable', 1331, 'identity', 'IdentityAccountUnavailable', 400],
    ['AccessDenied', 5, 'identity', 'CannotAccessStore', 400],
    ['PathNotFound', 67, 'path', 'PathNotFound', 404],
  ] as const)('%s (Windows %i) is %s / %s / %i', async (failure, win32, name, code, status) => {
    const { deps, desired } = setup(failed(failure, win32));
    const result = await preflight(desired, deps);
    expect(result).toEqual({ ok: false, error: expect.objectContaining({ name, code, status }) as unknown });
    if (name === 'identity' && !result.ok)
      expect(result.error.detail).toBe('Cannot access certificate store');
  });

  it("reports the computer account's missing READ apart, naming the account when the environment does", async () => {
    const { deps, desired } = setup(
      passed({ name: 'a.pfx', opens: 'right' }, false),
      {},
      {
        USERDOMAIN: 'CONTOSO',
        COMPUTERNAME: 'WEB01',
      },
    );
    expect(await preflight(desired, deps)).toEqual({
      ok: false,
      error: {
        name: 'path',
        code: 'ComputerAccountCannotRead',
        status: 403,
        detail: expect.stringContaining('(CONTOSO\\WEB01$)') as unknown,
      },
    });
  });

  it('checks the private-key password on the bytes the identity read', async () => {
    const wrong = setup(passed({ name: 'a.pfx', opens: 'other' }));
    expect(await preflight(wrong.desired, wrong.deps)).toMatchObject({
      ok: false,
      error: { code: 'InvalidPrivateKeyPassword' },
    });
    const right = setup(passed({ name: 'a.pfx', opens: 'right' }), { 'b.pfx': 'other' });
    expect(await preflight(right.desired, right.deps)).toMatchObject({ ok: true });
    // The identity's file decided: the agent read no other.
    expect(right.backend.checks).toEqual([SHARE]);
  });

  it("falls back on the agent's reads when the identity's file does not decide; any file that opens passes", async () => {
    const { deps, desired } = setup(passed({ name: 'a.pfx', opens: 'other' }), {
      'a.pfx': 'other',
      'b.pfx': 'right',
    });
    expect(await preflight(desired, deps)).toMatchObject({ ok: true });
    const none = setup(passed(null));
    expect(await preflight(none.desired, none.deps)).toMatchObject({ ok: true });
  });
});

describe('store-access: Windows errors', () => {
  it('maps the documented codes, and leaves transient ones (1311, 1219, unknown) to a retry', () => {
    expect(win32CodesOf('LogonFailed')).toEqual(expect.arrayContaining([1326]));
    expect(win32CodesOf('PathNotFound')).toEqual(expect.arrayContaining([3, 53, 67]));
    expect(win32CodesOf('AccountUnavailable')).toEqual(expect.arrayContaining([1331, 1909]));
    expect(storeAccessFailure(1385)).toBe('LogonTypeNotGranted');
    expect(storeAccessFailure(5)).toBe('AccessDenied');
    for (const transient of [1311, 1219, 121, 9999, null]) expect(storeAccessFailure(transient)).toBeNull();
  });
});
