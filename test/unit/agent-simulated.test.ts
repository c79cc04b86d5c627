import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createShareAccount,
  readStoredPasswordsForTests,
  setComputersRead,
  setRegistryByHand,
  SimulatedBackend,
} from '../../agent/backends/simulated.js';

let root: string;
let stateDir: string;
let shareRoot: string;
let backend: SimulatedBackend;

const USER = 'CONTOSO\\ccs-reader';
const PASSWORD = 'Share-Pa55word!';

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agent-sim-'));
  stateDir = join(root, 'state');
  shareRoot = join(root, 'shares');
  backend = new SimulatedBackend({ stateDir, shareRoot });
  await createShareAccount(shareRoot, USER, PASSWORD, ['ccs']);
  await mkdir(join(shareRoot, 'ccs', 'Sub'), { recursive: true });
  await writeFile(join(shareRoot, 'ccs', 'www.contoso.com.pfx'), 'pfx-bytes');
  await writeFile(join(shareRoot, 'ccs', '_.contoso.com.PFX'), 'wild');
  await writeFile(join(shareRoot, 'ccs', 'readme.txt'), 'not a cert');
  await mkdir(join(shareRoot, 'other'), { recursive: true });
  await mkdir(join(shareRoot, 'drives', 'C', 'certs'), { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('simulated backend: registry', () => {
  it('starts disabled and empty', async () => {
    expect(await backend.readActual()).toEqual({
      enabled: false,
      path: null,
      username: null,
      featureInstalled: true,
      rebootRequired: false,
    });
  });

  it('stores the passwords encrypted under a 0600 machine key created once', async () => {
    await backend.apply({
      enabled: true,
      path: '\\\\localhost\\ccs',
      username: USER,
      password: PASSWORD,
      privateKeyPassword: 'pk-secret-value',
    });
    const raw = await readFile(join(stateDir, 'registry.json'), 'utf8');
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain('pk-secret-value');
    const registry = JSON.parse(raw) as Record<string, unknown>;
    expect(registry).toMatchObject({ Enabled: 1, CertStoreLocation: '\\\\localhost\\ccs', UserName: USER });
    expect(String(registry.Password)).toMatch(/^aes256gcm:/);

    const key = join(stateDir, 'machine.key');
    const before = await readFile(key);
    expect(before).toHaveLength(32);
    if (process.platform !== 'win32') expect((await stat(key)).mode & 0o777).toBe(0o600);

    await backend.apply({
      enabled: true,
      path: 'C:\\certs',
      username: USER,
      password: 'rotated',
      privateKeyPassword: null,
    });
    expect(await readFile(key)).toEqual(before);
    expect(await readStoredPasswordsForTests(stateDir)).toEqual({
      password: 'rotated',
      privateKeyPassword: null,
    });
    expect(await backend.readActual()).toMatchObject({ enabled: true, path: 'C:\\certs', username: USER });
  });

  it('disable erases the user name and both passwords', async () => {
    await backend.apply({
      enabled: true,
      path: '\\\\localhost\\ccs',
      username: USER,
      password: PASSWORD,
      privateKeyPassword: 'pk',
    });
    await backend.apply({ enabled: false });
    const registry = JSON.parse(await readFile(join(stateDir, 'registry.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(registry).toMatchObject({ Enabled: 0, UserName: null, Password: null, PrivateKeyPassword: null });
    expect(await backend.readActual()).toMatchObject({ enabled: false, username: null });
  });

  it('setRegistryByHand plays an administrator editing IIS', async () => {
    await backend.apply({
      enabled: true,
      path: '\\\\localhost\\ccs',
      username: USER,
      password: PASSWORD,
      privateKeyPassword: null,
    });
    await setRegistryByHand(stateDir, { CertStoreLocation: '\\\\localhost\\other' });
    expect(await backend.readActual()).toMatchObject({
      enabled: true,
      path: '\\\\localhost\\other',
      username: USER,
    });
    await setRegistryByHand(stateDir, { Enabled: 0 });
    expect((await backend.readActual()).enabled).toBe(false);
    expect(await readStoredPasswordsForTests(stateDir)).toEqual({
      password: PASSWORD,
      privateKeyPassword: null,
    });
  });

  it('detects a tampered password ciphertext', async () => {
    await backend.apply({
      enabled: true,
      path: '\\\\localhost\\ccs',
      username: USER,
      password: PASSWORD,
      privateKeyPassword: null,
    });
    const file = join(stateDir, 'registry.json');
    const registry = JSON.parse(await readFile(file, 'utf8')) as { Password: string };
    const parts = registry.Password.split(':');
    parts[3] = Buffer.from('forged').toString('base64');
    await writeFile(file, JSON.stringify({ ...registry, Password: parts.join(':') }));
    await expect(readStoredPasswordsForTests(stateDir)).rejects.toThrow();
  });
});

describe('simulated backend: shares', () => {
  /** The identity side of a check, or its Windows error. */
  const identity = async (path: string, user = USER, password = PASSWORD) => {
    const { identity: outcome } = await backend.checkStoreAccess(path, user, password);
    return outcome.ok ? 'ok' : outcome.win32;
  };

  it('maps \\\\localhost\\share\\rest to <shareRoot>/share/rest, case-insensitively', async () => {
    expect(await identity('\\\\localhost\\ccs')).toBe('ok');
    expect(await identity('\\\\LOCALHOST\\CCS\\sub')).toBe('ok');
    expect(await identity('//localhost/ccs/Sub')).toBe('ok');
    expect(await identity('\\\\localhost\\ccs\\missing')).toBe(3); // ERROR_PATH_NOT_FOUND
    expect(await identity('\\\\localhost\\nope')).toBe(67); // ERROR_BAD_NET_NAME
  });

  it('treats other UNC servers as unreachable (53)', async () => {
    expect(await identity('\\\\fileserver\\ccs')).toBe(53);
  });

  it('maps drive paths to <shareRoot>/drives/<letter>; the identity must still log on', async () => {
    expect(await identity('C:\\certs')).toBe('ok');
    expect(await identity('c:\\CERTS')).toBe('ok');
    expect(await identity('D:\\certs')).toBe(3);
    expect(await identity('C:\\certs', 'anyone', 'anything')).toBe(1326);
  });

  it('logs on first, as LogonUser: user (case-insensitive), password, then the granted shares', async () => {
    expect(await identity('\\\\localhost\\ccs\\Sub', 'contoso\\CCS-READER')).toBe('ok');
    expect(await identity('\\\\localhost\\ccs', USER, 'wrong')).toBe(1326);
    expect(await identity('\\\\localhost\\ccs', 'CONTOSO\\someone')).toBe(1326);
    expect(await identity('\\\\fileserver\\ccs', USER, 'wrong')).toBe(1326); // before the path
    expect(await identity('\\\\localhost\\other')).toBe(5);
  });

  it('plays the accounts Windows refuses with the right password: 1331, 1330, 1385; 1909 with any', async () => {
    const cases = [
      ['disabled', 1331],
      ['password-expired', 1330],
      ['no-logon-right', 1385],
    ] as const;
    for (const [restriction, win32] of cases) {
      await createShareAccount(shareRoot, USER, PASSWORD, ['ccs'], restriction);
      expect(await identity('\\\\localhost\\ccs'), restriction).toBe(win32);
      expect(await identity('\\\\localhost\\ccs', USER, 'wrong'), restriction).toBe(1326);
    }
    await createShareAccount(shareRoot, USER, PASSWORD, ['ccs'], 'locked-out');
    expect(await identity('\\\\localhost\\ccs')).toBe(1909);
    expect(await identity('\\\\localhost\\ccs', USER, 'wrong')).toBe(1909);
  });

  it("reads the first .pfx as the identity, and reports the computer accounts' read on its own", async () => {
    expect(await backend.checkStoreAccess('\\\\localhost\\ccs', USER, PASSWORD)).toEqual({
      identity: { ok: true, pfx: { name: '_.contoso.com.PFX', bytes: Buffer.from('wild') } },
      agent: { ok: true },
    });
    await setComputersRead(shareRoot, 'CCS', false);
    expect(await backend.checkStoreAccess('\\\\localhost\\ccs', USER, PASSWORD)).toMatchObject({
      identity: { ok: true },
      agent: { ok: false, failure: 'AccessDenied', win32: 5 },
    });
    expect((await backend.checkStoreAccess('\\\\localhost\\ccs', USER, 'wrong')).agent).toBeNull();
  });

  it('createShareAccount replaces an account (password change)', async () => {
    await createShareAccount(shareRoot, USER, 'new-password', ['ccs', 'other']);
    expect(await identity('\\\\localhost\\ccs')).toBe(1326);
    expect(await identity('\\\\localhost\\other', USER, 'new-password')).toBe('ok');
  });

  it('lists .pfx files (any case) and reads them by name only', async () => {
    expect(await backend.listPfx('\\\\localhost\\ccs')).toEqual(['_.contoso.com.PFX', 'www.contoso.com.pfx']);
    expect((await backend.readFile('\\\\localhost\\ccs', 'www.contoso.com.pfx')).toString()).toBe(
      'pfx-bytes',
    );
    await expect(backend.readFile('\\\\localhost\\ccs', '..\\accounts.json')).rejects.toThrow();
    await expect(backend.listPfx('\\\\localhost\\missing')).rejects.toThrow('does not exist');
  });

  it('refuses . and .. segments instead of resolving them to other folders', async () => {
    expect(await identity('\\\\localhost\\ccs\\..\\other')).toBe(161);
    expect(await identity('C:\\certs\\..\\..')).toBe(161);
    expect(await identity('relative\\path')).toBe(161);
  });
});
