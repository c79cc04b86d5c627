/**
 * The host key (agent/host-key.ts, agent/dpapi.ts): made once at enrolment, kept in a file only the
 * service account can read (mode 0600 here), read back on every start, never silently replaced;
 * DPAPI (LocalMachine) through real PowerShell — the round trip on Windows, a clear error where
 * Windows' data protection does not exist — and the agent configuration that selects it.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../agent/config.js';
import { DpapiError, dpapiProtector } from '../../agent/dpapi.js';
import {
  FILE_PERMISSIONS_ONLY,
  HOST_KEY_FILE,
  HostKeyError,
  loadOrCreateHostKey,
  readHostKeyThumbprint,
  type KeyProtector,
} from '../../agent/host-key.js';
import { signReport, verifyReportSignature } from '../../shared/report-signature.js';
import { sampleHello } from '../support/sample-reports.js';
import { findTool } from '../support/tools.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccs-host-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Stands in for an encryption (a byte flip), to show the file holds what the protector made. */
const flipping: KeyProtector = {
  name: 'dpapi-localmachine',
  protect: (secret) => Promise.resolve(Buffer.from(secret.map((b) => b ^ 0xff))),
  unprotect: (stored) => Promise.resolve(Buffer.from(stored.map((b) => b ^ 0xff))),
};

describe('the host key', () => {
  it('is made once, in a file only its owner can read, and read back on every start', async () => {
    const first = await loadOrCreateHostKey(dir, FILE_PERMISSIONS_ONLY);
    expect(first.created).toBe(true);
    const file = join(dir, HOST_KEY_FILE);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateHostKey(dir, FILE_PERMISSIONS_ONLY);
    expect(second.created).toBe(false);
    expect(second.publicKey).toEqual(first.publicKey);
    expect(second.thumbprint).toBe(first.thumbprint);
    expect(await readHostKeyThumbprint(dir)).toBe(first.thumbprint);
    // What the second start signs, the key the first start announced verifies.
    const signed = JSON.parse(JSON.stringify(signReport(sampleHello(), second)));
    expect(verifyReportSignature(signed, first.publicKey)).toEqual({ ok: true });
  });

  it('stores the private key as the protector left it, and reads it back through it', async () => {
    const made = await loadOrCreateHostKey(dir, flipping);
    const stored = JSON.parse(await readFile(join(dir, HOST_KEY_FILE), 'utf8')) as {
      privateKey: string;
      protection: string;
    };
    expect(stored.protection).toBe('dpapi-localmachine');
    const der = made.privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(Buffer.from(stored.privateKey, 'base64').equals(der)).toBe(false);
    expect((await loadOrCreateHostKey(dir, flipping)).thumbprint).toBe(made.thumbprint);
  });

  it('never replaces a key it cannot read: corrupt, another protection, or keys that do not belong together', async () => {
    await loadOrCreateHostKey(dir, FILE_PERMISSIONS_ONLY);
    const file = join(dir, HOST_KEY_FILE);
    const original = await readFile(file, 'utf8');
    await expect(loadOrCreateHostKey(dir, flipping)).rejects.toThrow(/configured for 'dpapi-localmachine'/);
    const other = join(dir, 'other');
    const foreign = JSON.parse(original) as { publicKey: unknown };
    await loadOrCreateHostKey(other, FILE_PERMISSIONS_ONLY);
    const mixed = {
      ...(JSON.parse(await readFile(join(other, HOST_KEY_FILE), 'utf8')) as object),
      publicKey: foreign.publicKey,
    };
    await writeFile(file, JSON.stringify(mixed));
    await expect(loadOrCreateHostKey(dir, FILE_PERMISSIONS_ONLY)).rejects.toThrow(/do not belong together/);
    await writeFile(file, '{"v":1');
    await expect(loadOrCreateHostKey(dir, FILE_PERMISSIONS_ONLY)).rejects.toBeInstanceOf(HostKeyError);
    expect(await readFile(file, 'utf8')).toBe('{"v":1');
  });
});

describe('DPAPI through PowerShell', () => {
  const windows = process.platform === 'win32';
  const pwsh = windows ? 'powershell.exe' : findTool('pwsh', 'CCS_PWSH', 'pwsh/pwsh');

  it.runIf(windows)('protects the key for this machine and reads it back (Windows)', async () => {
    const made = await loadOrCreateHostKey(dir, dpapiProtector());
    const stored = JSON.parse(await readFile(join(dir, HOST_KEY_FILE), 'utf8')) as { privateKey: string };
    const der = made.privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(Buffer.from(stored.privateKey, 'base64').equals(der)).toBe(false);
    expect((await loadOrCreateHostKey(dir, dpapiProtector())).thumbprint).toBe(made.thumbprint);
  });

  it.runIf(!windows && pwsh)(
    'fails clearly where Windows data protection does not exist, and writes no key',
    async () => {
      const error = await loadOrCreateHostKey(dir, dpapiProtector({ executable: pwsh! })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DpapiError);
      expect((error as Error).message).toMatch(/PlatformNotSupportedException/);
      await expect(stat(join(dir, HOST_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    },
  );

  it('names a PowerShell that cannot be started', async () => {
    await expect(
      dpapiProtector({ executable: join(dir, 'no-such-powershell') }).protect(Buffer.alloc(1)),
    ).rejects.toThrow(/could not start .*no-such-powershell \(ENOENT\)/);
  });
});

describe('the agent configuration', () => {
  const base = {
    ccsId: 'farm-a',
    storage: { connectionString: 'UseDevelopmentStorage=true' },
    keyVault: { url: 'https://kv.vault.azure.net' },
    backend: 'simulated',
    simulated: { stateDir: 'iis', shareRoot: 'shares' },
  };
  const load = async (
    extra: Record<string, unknown>,
    platform: NodeJS.Platform,
    env: Record<string, string> = {},
  ) => {
    const file = join(dir, 'agent.json');
    await writeFile(file, JSON.stringify({ ...base, ...extra }));
    return loadAgentConfig({ file, env, platform });
  };

  it('protects the host key with DPAPI on Windows and with file permissions elsewhere, unless told', async () => {
    expect((await load({}, 'win32')).hostKey).toEqual({ protection: 'dpapi' });
    expect((await load({}, 'linux')).hostKey).toEqual({ protection: 'file' });
    expect((await load({ hostKey: { protection: 'file' } }, 'win32')).hostKey).toEqual({
      protection: 'file',
    });
    expect((await load({}, 'win32', { CCS_AGENT_HOST_KEY_PROTECTION: 'file' })).hostKey.protection).toBe(
      'file',
    );
  });

  it('takes a one-time enrolment code from the file or CCS_AGENT_ENROLMENT_CODE, and names it when malformed', async () => {
    const code = 'A'.repeat(32);
    expect((await load({ enrolmentCode: code }, 'linux')).enrolmentCode).toBe(code);
    expect((await load({}, 'linux', { CCS_AGENT_ENROLMENT_CODE: code })).enrolmentCode).toBe(code);
    await expect(load({ enrolmentCode: 'too-short' }, 'linux')).rejects.toThrow(/enrolmentCode/);
  });
});
