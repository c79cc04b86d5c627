/**
 * The drift check on Windows reads IIS's state from the registry in-process: it starts no child
 * process (counted at the one place the backend starts any), while a repair — a change — still
 * goes through PowerShell. The stand-in's cmdlets keep their state in the simulated registry that
 * the agent's reader reads.
 */
import { execFile } from 'node:child_process';
import type * as ChildProcess from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { agentLogger } from '../../agent/log.js';
import { Reconciler } from '../../agent/reconcile.js';
import { SecretCache } from '../../agent/secrets.js';
import { MemoryStateStore } from '../../agent/state.js';
import { verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import type { DesiredState } from '../../shared/messages.js';
import { command, FakeSecretStore } from '../support/agent-fakes.js';
import {
  describePwsh,
  FAKE_MODULE,
  PFX_PASSWORD,
  PROVIDER_KEY,
  requirePwsh,
  sandbox,
  SHARE,
  USER,
  type Sandbox,
} from './support.js';

const PASSWORD = 'Drift-Pa55!';

/** Every child process started through node:child_process in this file's module graph. */
const started = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof ChildProcess>();
  const custom = (await import('node:util')).promisify.custom;
  const counted = <A extends unknown[], R>(f: (...args: A) => R): ((...args: A) => R) => {
    const wrapper = (...args: A): R => {
      started.count++;
      return f(...args);
    };
    // execFile/exec carry their own promisified form: count that one too.
    const promised = (f as unknown as Record<symbol, ((...a: unknown[]) => unknown) | undefined>)[custom];
    if (promised) {
      Object.assign(wrapper, {
        [custom]: (...a: unknown[]) => {
          started.count++;
          return promised(...a);
        },
      });
    }
    return wrapper;
  };
  return {
    ...real,
    spawn: counted(real.spawn),
    spawnSync: counted(real.spawnSync),
    exec: counted(real.exec),
    execSync: counted(real.execSync),
    execFile: counted(real.execFile),
    execFileSync: counted(real.execFileSync),
    fork: counted(real.fork),
  };
});

describePwsh('drift on Windows: read from the registry, no process per check', { timeout: 180_000 }, () => {
  let box: Sandbox;
  let spawns: string[];
  let reconciler: Reconciler;
  let desired: DesiredState;

  beforeAll(async () => {
    box = await sandbox(PASSWORD, { feature: 'Installed' });
    spawns = [];
    const store = new FakeSecretStore();
    desired = {
      enabled: true,
      path: SHARE,
      username: USER,
      password: store.put('ccs-farm-a-identity-password', PASSWORD),
      privateKeyPassword: store.put('ccs-farm-a-private-key-password', PFX_PASSWORD),
    };
    reconciler = new Reconciler({
      ccsId: 'farm-a',
      backend: box.backend({ onSpawn: ({ script }) => spawns.push(script) }),
      secrets: new SecretCache(store),
      state: new MemoryStateStore(),
      log: agentLogger(() => undefined),
      allowedLocations: [{ path: SHARE, claims: ['read'] }],
      environment: {},
      verifyPfx: (pfx, password) => verifyPfxPassword(pfx, password),
      now: () => new Date(),
    });
  });
  afterAll(async () => {
    await box.cleanup();
  });

  it('applies through PowerShell (the check as the identity, then the cmdlets)', async () => {
    expect(await reconciler.handle(command('apply', 1, desired))).toMatchObject({ outcome: 'succeeded' });
    expect(spawns).toEqual(['Test-CcsShare.ps1', 'Set-CcsProvider.ps1']);
    expect(await box.provider()).toMatchObject({ Enabled: 1, CertStoreLocation: SHARE, UserName: USER });
  });

  it('checks drift without starting a single process', async () => {
    spawns.length = 0;
    const before = started.count;
    for (let i = 0; i < 5; i++) expect(await reconciler.checkDrift()).toBeNull();
    expect(spawns).toEqual([]);
    expect(started.count - before).toBe(0);
  });

  it('repairs a hand edit of the registry (that change goes through PowerShell)', async () => {
    const state = await box.state();
    const key = Object.keys(state.registry ?? {}).find(
      (k) => k.toLowerCase() === PROVIDER_KEY.toLowerCase(),
    )!;
    state.registry![key]!.Enabled = { type: 'REG_DWORD', data: 0 };
    await box.setState({ registry: state.registry });
    spawns.length = 0;
    const before = started.count;
    expect(await reconciler.checkDrift()).toMatchObject({ found: { enabled: false }, repaired: true });
    expect(spawns).toEqual(['Set-CcsProvider.ps1']);
    expect(started.count - before).toBe(1); // the counter sees what the runner starts
    spawns.length = 0;
    expect(await reconciler.checkDrift()).toBeNull();
    expect(spawns).toEqual([]);
  });

  it('Get-IISCentralCertProvider answers text, as documented (System.String), which nothing parses', async () => {
    const { stdout } = await promisify(execFile)(
      requirePwsh(),
      [
        '-NoProfile',
        '-NonInteractive',
        '-Command',
        `Import-Module '${FAKE_MODULE}'; Get-IISCentralCertProvider | ForEach-Object { $_.GetType().FullName + '|' + $_ }`,
      ],
      { env: { ...process.env, CCS_FAKEIIS_STATE: box.stateFile } },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'System.String|Enabled=True',
      `System.String|CertStoreLocation=${SHARE}`,
      `System.String|UserName=${USER}`,
      'System.String|Password=*********',
      'System.String|PrivateKeyPassword=*********',
    ]);
  });
});
