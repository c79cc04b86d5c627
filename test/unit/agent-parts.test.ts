import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretCache, SecretUnavailableError } from '../../agent/secrets.js';
import { FileStateStore, NOTHING_APPLIED } from '../../agent/state.js';
import { seedDemoShare } from '../../local/demo-share.js';
import { describePfx, verifyPfxPassword } from '../../shared/pkcs12/pfx.js';
import { FakeSecretStore } from '../support/agent-fakes.js';
import { SimulatedBackend } from '../../agent/backends/simulated.js';
import { crashSpecMatches } from '../../agent/crash-points.js';
import { ReadAhead } from '../../agent/inventory/read-ahead.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-parts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileStateStore', () => {
  const desired = {
    enabled: true,
    path: '\\\\files\\ccs',
    username: 'CONTOSO\\svc',
    password: { name: 'ccs-a-identity-password', version: 'v1' },
    privateKeyPassword: null,
  };

  it('starts with nothing applied and round-trips a record atomically', async () => {
    const store = new FileStateStore(join(dir, 'state'), 'farm-a');
    expect(await store.load()).toEqual(NOTHING_APPLIED);
    await store.save({ appliedGeneration: 4, desired, appliedAt: '2026-01-01T00:00:00.000Z' });
    expect(await store.load()).toEqual({
      appliedGeneration: 4,
      desired,
      appliedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await readdir(join(dir, 'state'))).toEqual(['applied.json']);
  });

  it('starts from zero when the host moved to another ccs-id', async () => {
    await new FileStateStore(dir, 'farm-a').save({ appliedGeneration: 4, desired, appliedAt: null });
    expect(await new FileStateStore(dir, 'farm-b').load()).toEqual(NOTHING_APPLIED);
  });

  it('refuses a corrupt state file instead of silently starting over', async () => {
    await writeFile(
      join(dir, 'applied.json'),
      JSON.stringify({ v: 1, ccsId: 'farm-a', appliedGeneration: -1 }),
    );
    await expect(new FileStateStore(dir, 'farm-a').load()).rejects.toThrow('not a valid agent state file');
  });
});

describe('SecretCache', () => {
  it('caches by name and version and evicts the least recently used', async () => {
    const store = new FakeSecretStore();
    const cache = new SecretCache(store, 2);
    const a = store.put('s', 'value-a');
    const b = store.put('s', 'value-b');
    const c = store.put('s', 'value-c');
    expect(await cache.get(a)).toBe('value-a');
    expect(await cache.get(b)).toBe('value-b');
    expect(await cache.get(a)).toBe('value-a');
    expect(await cache.get(c)).toBe('value-c'); // evicts b
    expect(cache.size).toBe(2);
    await cache.get(b);
    expect(store.reads.map((r) => r.version)).toEqual([a.version, b.version, c.version, b.version]);
  });

  it('wraps a failure without the value or the SDK error', async () => {
    const cache = new SecretCache(new FakeSecretStore());
    const error = await cache.get({ name: 'missing', version: 'v9' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toBe('Key Vault secret missing version v9 could not be read (HTTP 404)');
  });

  it('waits out a throttled vault (429 after the SDK retries) for as long as its patience lasts', async () => {
    const store = new FakeSecretStore();
    const ref = store.put('s', 'value');
    let refusals = 2;
    const throttled = {
      ...store,
      getSecret: (r: typeof ref) =>
        refusals-- > 0
          ? Promise.reject(Object.assign(new Error('throttled'), { statusCode: 429, retryAfterMs: 1 }))
          : store.getSecret(r),
    } as unknown as FakeSecretStore;
    expect(await new SecretCache(throttled).get(ref)).toBe('value');
    expect(refusals).toBe(-1);
    refusals = 1;
    const impatient = await new SecretCache(throttled, 16, 0).get(ref).catch((e: unknown) => e);
    expect(impatient).toMatchObject({ name: 'SecretUnavailableError', statusCode: 429 });
  });

  it('redacts raw and JSON-escaped values it holds', async () => {
    const store = new FakeSecretStore();
    const cache = new SecretCache(store);
    await cache.get(store.put('s', 'pa"ss\\word'));
    await cache.get(store.put('t', 'abc')); // too short to redact safely
    const line = JSON.stringify({ msg: 'x pa"ss\\word y' });
    expect(cache.redact(line)).toBe('{"msg":"x [redacted] y"}');
    expect(cache.redact('pa"ss\\word abc')).toBe('[redacted] abc');
  });
});

describe('seedDemoShare', () => {
  it('creates the share with openssl once, keeps it on re-run and regenerates for another password', async () => {
    const shareRoot = join(dir, 'shares');
    const first = await seedDemoShare({ shareRoot, privateKeyPassword: 'demo-pk-1' });
    expect(first).toMatchObject({
      path: '\\\\localhost\\ccs',
      folder: join(shareRoot, 'ccs'),
      username: 'LOCALHOST\\ccs-reader',
      privateKeyPassword: 'demo-pk-1',
    });
    const files = (await readdir(first.folder)).sort();
    expect(files).toEqual(['_.contoso.com.pfx', 'expired.contoso.com.pfx', 'www.contoso.com.pfx']);
    for (const file of files) {
      expect(verifyPfxPassword(await readFile(join(first.folder, file)), 'demo-pk-1')).toBe('ok');
    }
    if (process.platform !== 'win32')
      expect((await stat(join(shareRoot, 'demo.json'))).mode & 0o777).toBe(0o600);
    const leaf = async (file: string) =>
      describePfx(await readFile(join(first.folder, file)), 'demo-pk-1').certificates[0]!;
    const now = Date.now();
    expect((await leaf('www.contoso.com.pfx')).subjectAltName).toBe('DNS:www.contoso.com');
    expect((await leaf('_.contoso.com.pfx')).subjectAltName).toBe('DNS:*.contoso.com');
    expect(Date.parse((await leaf('www.contoso.com.pfx')).validTo)).toBeGreaterThan(now);
    expect(Date.parse((await leaf('expired.contoso.com.pfx')).validTo)).toBeLessThan(now);

    const before = await readFile(join(first.folder, 'www.contoso.com.pfx'));
    const again = await seedDemoShare({ shareRoot, privateKeyPassword: 'demo-pk-1' });
    expect(again.password).toBe(first.password);
    expect(await readFile(join(first.folder, 'www.contoso.com.pfx'))).toEqual(before);

    const backend = new SimulatedBackend({ stateDir: join(dir, 'iis'), shareRoot });
    expect((await backend.checkStoreAccess(first.path, first.username, first.password)).identity.ok).toBe(
      true,
    );

    await seedDemoShare({ shareRoot, privateKeyPassword: 'demo-pk-2' });
    const www = await readFile(join(first.folder, 'www.contoso.com.pfx'));
    expect(verifyPfxPassword(www, 'demo-pk-2')).toBe('ok');
  });
});

describe('crash points (fault-injection specs)', () => {
  const apply7 = { type: 'apply', generation: 7 };
  it('match by step, then by command type, then by generation when named', () => {
    expect(crashSpecMatches('after-apply', 'after-apply', apply7)).toBe(true);
    expect(crashSpecMatches('after-apply:apply', 'after-apply', apply7)).toBe(true);
    expect(crashSpecMatches('after-apply:apply:7', 'after-apply', apply7)).toBe(true);
    expect(crashSpecMatches('after-apply', 'before-report', apply7)).toBe(false);
    expect(crashSpecMatches('after-apply:preflight', 'after-apply', apply7)).toBe(false);
  });
  it('let a late duplicate of an earlier generation pass', () => {
    expect(crashSpecMatches('before-report:apply:8', 'before-report', apply7)).toBe(false);
  });
  it('are disarmed when empty or absent', () => {
    expect(crashSpecMatches(undefined, 'after-apply', apply7)).toBe(false);
    expect(crashSpecMatches('  ', 'after-apply', apply7)).toBe(false);
  });
});

describe('ReadAhead (the inventory reading files ahead of their parsing)', () => {
  function recorder() {
    const started: string[] = [];
    let inFlight = 0;
    let most = 0;
    const readOne = async (name: string): Promise<Buffer> => {
      started.push(name);
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      if (name.startsWith('bad')) throw Object.assign(new Error('denied'), { code: 'EACCES' });
      return Buffer.from(name);
    };
    return { started, readOne, most: () => most };
  }

  it('reads each file once, in order, at most `depth` at a time', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.pfx`);
    const r = recorder();
    const reads = new ReadAhead(names, r.readOne, 4);
    for (const name of names) expect((await reads.take(name)).toString()).toBe(name);
    expect(r.started).toEqual(names);
    expect(r.most()).toBeLessThanOrEqual(5);
    expect(r.most()).toBeGreaterThan(1);
  });

  it('hands a failed read to whoever takes that name, and reads unlisted names on demand', async () => {
    const r = recorder();
    const reads = new ReadAhead(['a.pfx', 'bad.pfx', 'c.pfx'], r.readOne, 2);
    expect((await reads.take('a.pfx')).toString()).toBe('a.pfx');
    await expect(reads.take('bad.pfx')).rejects.toMatchObject({ code: 'EACCES' });
    expect((await reads.take('other.pfx')).toString()).toBe('other.pfx');
    expect((await reads.take('c.pfx')).toString()).toBe('c.pfx');
    expect(r.started.filter((n) => n === 'c.pfx')).toHaveLength(1);
  });
});
