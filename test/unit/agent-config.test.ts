import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '../../agent/backends/index.js';
import { ConfigError, loadAgentConfig } from '../../agent/config.js';

let dir: string;

const base = {
  ccsId: 'farm-a',
  hostName: 'web01',
  storage: { connectionString: 'UseDevelopmentStorage=true' },
  keyVault: { url: 'https://127.0.0.1:8443', caCertFile: 'kv.pem', localToken: 'local-token' },
  backend: 'simulated',
  allowedLocations: [{ path: '\\\\localhost\\ccs', claims: ['read'] }],
  stateDir: 'state',
  simulated: { stateDir: 'sim', shareRoot: '/srv/shares' },
};

async function file(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agent configuration', () => {
  it('reads the file, applies defaults and resolves relative paths against the file', async () => {
    const config = loadAgentConfig({ file: await file('a.json', base), env: {} });
    expect(config).toMatchObject({
      ccsId: 'farm-a',
      hostName: 'web01',
      backend: 'simulated',
      pollMinSeconds: 1,
      pollMaxSeconds: 30,
      helloIntervalSeconds: 300,
      driftIntervalSeconds: 60,
      visibilityTimeoutSeconds: 3600,
      stateDir: join(dir, 'state'),
      keyVault: { caCertFile: join(dir, 'kv.pem') },
      simulated: { stateDir: join(dir, 'sim'), shareRoot: '/srv/shares' },
    });
    expect(config.environment).toEqual({});
  });

  it('takes CCS_AGENT_CONFIG and CCS_AGENT_* overrides', async () => {
    const path = await file('b.json', base);
    const config = loadAgentConfig({
      env: {
        CCS_AGENT_CONFIG: path,
        CCS_AGENT_HOST_NAME: 'web02',
        CCS_AGENT_POLL_MAX_SECONDS: '5',
        CCS_AGENT_STORAGE_QUEUE_SERVICE_URI: 'https://acct.queue.core.windows.net',
        CCS_AGENT_ALLOWED_LOCATIONS: '[{"path":"D:\\\\certs"}]',
      },
    });
    expect(config.hostName).toBe('web02');
    expect(config.pollMaxSeconds).toBe(5);
    expect(config.storage).toEqual({ queueServiceUri: 'https://acct.queue.core.windows.net' });
    expect(config.allowedLocations).toEqual([{ path: 'D:\\certs', claims: ['read'] }]);
  });

  it('works from the environment alone', () => {
    const config = loadAgentConfig({
      env: {
        CCS_AGENT_CCS_ID: 'farm-b',
        CCS_AGENT_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
        CCS_AGENT_KEY_VAULT_URL: 'https://kv.vault.azure.net',
        CCS_AGENT_BACKEND: 'powershell',
        CCS_AGENT_STATE_DIR: '/var/lib/x',
      },
    });
    expect(config).toMatchObject({ ccsId: 'farm-b', backend: 'powershell', stateDir: '/var/lib/x' });
  });

  it.each([
    ['ccsId', { ...base, ccsId: 'Farm_A' }],
    ['hostName', { ...base, hostName: 'bad host' }],
    ['storage', { ...base, storage: {} }],
    ['keyVault.url', { ...base, keyVault: { url: 'not a url' } }],
    ['backend', { ...base, backend: 'iis' }],
    ['pollMinSeconds', { ...base, pollMinSeconds: -1 }],
    ['pollMaxSeconds', { ...base, pollMinSeconds: 10, pollMaxSeconds: 5 }],
    ['visibilityTimeoutSeconds', { ...base, visibilityTimeoutSeconds: 0.5 }],
    ['simulated', { ...base, simulated: undefined }],
    ['allowedLocations.0.path', { ...base, allowedLocations: [{ path: '' }] }],
    ['unknownSetting', { ...base, unknownSetting: 1 }],
  ])('names the bad setting %s', async (setting, content) => {
    const path = await file(`bad-${setting}.json`, content);
    const error = configError(() => loadAgentConfig({ file: path, env: {} }));
    expect(error.setting === setting || error.message.includes(setting)).toBe(true);
  });

  it('names the environment variable a bad value came from', async () => {
    const path = await file('d.json', base);
    const sync = configError(() =>
      loadAgentConfig({ file: path, env: { CCS_AGENT_POLL_MIN_SECONDS: 'fast' } }),
    );
    expect(sync.setting).toBe('pollMinSeconds');
    expect(sync.message).toContain('CCS_AGENT_POLL_MIN_SECONDS');
  });

  it('reports an unreadable or non-JSON file as --config', async () => {
    expect(configError(() => loadAgentConfig({ file: join(dir, 'missing.json'), env: {} })).setting).toBe(
      '--config',
    );
    const path = await file('e.json', '{ not json');
    expect(configError(() => loadAgentConfig({ file: path, env: {} })).setting).toBe('--config');
  });

  it('never defaults to the simulated backend: required elsewhere, powershell on Windows', async () => {
    const { backend: _omit, ...noBackend } = base;
    const path = await file('f.json', noBackend);
    const error = configError(() => loadAgentConfig({ file: path, env: {}, platform: 'linux' }));
    expect(error.setting).toBe('backend');
    const windows = loadAgentConfig({
      file: path,
      env: { ProgramData: 'C:\\ProgramData' },
      platform: 'win32',
    });
    expect(windows.backend).toBe('powershell');
  });

  it('creates the powershell backend on Windows; elsewhere only with an explicit executable', async () => {
    const config = loadAgentConfig({
      file: await file('g.json', { ...base, backend: 'powershell' }),
      env: {},
    });
    expect(createBackend(config, 'win32').name).toBe('powershell');
    const error = configError(() => createBackend(config, 'linux'));
    expect(error.setting).toBe('powershell.executable');
    const explicit = loadAgentConfig({
      file: await file('g2.json', {
        ...base,
        backend: 'powershell',
        powershell: { executable: 'pwsh', timeoutSeconds: 30, scriptsDir: 'ps' },
      }),
      env: { CCS_AGENT_POWERSHELL_TIMEOUT_SECONDS: '45' },
    });
    expect(explicit.powershell).toEqual({
      executable: 'pwsh',
      timeoutSeconds: 45,
      scriptsDir: join(dir, 'ps'),
    });
    expect(createBackend(explicit, 'linux').name).toBe('powershell');
  });
});
