/**
 * The agent's inventory scanner over an in-memory share: incremental rescans (name, size, last
 * write time), deletions and renames, chunks under the queue message limit, a 10,000-file share
 * rescanned without opening a file, and scans that cannot run.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Backend, PfxFileStat, ResolvedDesired, StoreAccess } from '../../agent/backends/backend.js';
import { MemoryInventoryCache } from '../../agent/inventory/cache.js';
import { InventoryScanner, type ScannerDeps } from '../../agent/inventory/scanner.js';
import { SecretCache } from '../../agent/secrets.js';
import { MemoryStateStore } from '../../agent/state.js';
import { describeCertificateFile, type FileStat } from '../../shared/certificates/describe.js';
import type { InventoryFile } from '../../shared/certificates/metadata.js';
import {
  encodeMessage,
  MESSAGE_VERSION,
  ReportSchema,
  type ActualState,
  type InventoryReport,
  type Report,
  type ScanCommand,
  type SecretRef,
} from '../../shared/messages.js';
import { silentLogger } from '../../shared/log.js';
import { agentLogger } from '../../agent/log.js';
import { Agent } from '../../agent/loop.js';
import {
  FakeBackend,
  FakeClock,
  FakeQueue,
  FakeReports,
  FakeSecretStore,
  fakeVerifyPfx,
  settings,
} from '../support/agent-fakes.js';
import { FIXTURE_PASSWORD, loadFixture } from '../support/pfx-fixtures.js';
import { MAX_PFX_BYTES } from '../../shared/pkcs12/pfx.js';

const PASSWORD = FIXTURE_PASSWORD;
const fixture = loadFixture;
const SHARE = '\\\\fs\\ccs';

/** A share in memory, read by "the agent's own identity"; counts what is opened. */
class ShareBackend implements Backend {
  readonly name = 'share';
  readonly files = new Map<string, { bytes: Buffer; mtimeMs: number }>();
  reads = 0;
  listings = 0;
  missing = false;
  withStat = true;

  put(name: string, bytes: Buffer, mtimeMs = 1_700_000_000_000): void {
    this.files.set(name, { bytes, mtimeMs });
  }
  readActual(): Promise<ActualState> {
    return Promise.resolve({ enabled: true, path: SHARE, username: 'u' });
  }
  checkStoreAccess(): Promise<StoreAccess> {
    return Promise.resolve({ identity: { ok: true, pfx: null }, agent: { ok: true } });
  }
  listPfx(): Promise<string[]> {
    if (this.missing) return Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' }));
    this.listings++;
    return Promise.resolve([...this.files.keys()].sort());
  }
  readFile(_path: string, name: string): Promise<Buffer> {
    this.reads++;
    const file = this.files.get(name);
    return file
      ? Promise.resolve(file.bytes)
      : Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' }));
  }
  apply(_desired: ResolvedDesired): Promise<void> {
    return Promise.resolve();
  }
}

class WithStat extends ShareBackend {
  async statPfx(): Promise<PfxFileStat[]> {
    const names = await this.listPfx();
    return names.map((name) => {
      const f = this.files.get(name)!;
      return { name, size: f.bytes.length, mtimeMs: f.mtimeMs };
    });
  }
}

class Sink {
  readonly sent: Report[] = [];
  send(report: Report): Promise<void> {
    this.sent.push(report);
    return Promise.resolve();
  }
  take(): InventoryReport[] {
    const out = this.sent.splice(0).filter((r): r is InventoryReport => r.type === 'inventory');
    return out;
  }
}

let backend: WithStat;
let sink: Sink;
let cache: MemoryInventoryCache;
let secrets: FakeSecretStore;
let state: MemoryStateStore;
let pkRef: SecretRef;
let seq = 0;

function scanner(overrides: Partial<ScannerDeps> = {}, using: Backend = backend): InventoryScanner {
  return new InventoryScanner({
    ccsId: 'farm',
    hostName: 'web01',
    backend: using,
    secrets: new SecretCache(secrets),
    state,
    cache,
    reports: sink,
    environment: {},
    log: silentLogger,
    now: () => new Date('2026-06-01T00:00:00Z'),
    ...overrides,
  });
}

const scan = (full = false): ScanCommand => ({
  v: MESSAGE_VERSION,
  type: 'scan',
  ccsId: 'farm',
  host: 'web01',
  generation: 1,
  scanSeq: ++seq,
  full,
  issuedAt: new Date().toISOString(),
});

const names = (files: InventoryFile[]) => files.map((f) => f.name).sort();
const upserts = (reports: InventoryReport[]) => reports.flatMap((r) => r.upserts);

function applied(ref: SecretRef | null) {
  state.record = {
    appliedGeneration: 1,
    appliedAt: null,
    desired: {
      enabled: true,
      path: SHARE,
      username: 'u',
      password: { name: 'p', version: '1' },
      privateKeyPassword: ref,
    },
  };
}

beforeEach(() => {
  backend = new WithStat();
  sink = new Sink();
  cache = new MemoryInventoryCache();
  secrets = new FakeSecretStore();
  state = new MemoryStateStore();
  pkRef = secrets.put('ccs-farm-private-key-password', PASSWORD);
  applied(pkRef);
  backend.put('www.contoso.com.pfx', fixture('aes256/www.contoso.com.pfx'));
  backend.put('_.contoso.com.pfx', fixture('legacy/_.contoso.com.pfx'));
  backend.put('expired.contoso.com.pfx', fixture('3des/expired.contoso.com.pfx'));
  backend.put('shop.contoso.com.pfx', fixture('empty-password/www.contoso.com.pfx'));
});

describe('the inventory scanner', () => {
  it('first scans everything (a delta needs a base), reading the share once per file', async () => {
    const outcome = await scanner().scan(scan());
    const [report, ...more] = sink.take();
    expect(more).toEqual([]);
    expect(report).toMatchObject({
      type: 'inventory',
      full: true,
      files: 4,
      chunk: { index: 0, count: 1 },
      error: null,
    });
    expect(names(report!.upserts)).toEqual([
      '_.contoso.com.pfx',
      'expired.contoso.com.pfx',
      'shop.contoso.com.pfx',
      'www.contoso.com.pfx',
    ]);
    expect(report!.upserts.find((f) => f.name === 'shop.contoso.com.pfx')?.error?.code).toBe(
      'wrong_password',
    );
    expect(report!.upserts.find((f) => f.name === 'www.contoso.com.pfx')?.certificate?.subject).toBe(
      'CN=www.contoso.com, O=Contoso Fixtures, C=US',
    );
    expect(outcome).toMatchObject({ parsed: 4, reused: 0, full: true });
    expect(backend.reads).toBe(4);
    const text = JSON.stringify(report);
    expect(text).not.toContain(PASSWORD);
    // Metadata only: not one PFX byte travels (base64 of any fixture's start).
    expect(text).not.toContain(fixture('aes256/www.contoso.com.pfx').subarray(0, 24).toString('base64'));
  });

  it('rescans without opening unchanged files and sends a heartbeat', async () => {
    await scanner().scan(scan());
    sink.take();
    backend.reads = 0;
    const outcome = await scanner().scan(scan());
    expect(backend.reads).toBe(0);
    expect(outcome).toMatchObject({ parsed: 0, reused: 4, upserts: 0, removed: 0, full: false });
    expect(sink.take()).toMatchObject([{ full: false, files: 4, upserts: [], removed: [], renamed: [] }]);
  });

  it('reads only a changed file; a touched file is re-read but not parsed', async () => {
    await scanner().scan(scan());
    sink.take();
    backend.reads = 0;
    backend.put('www.contoso.com.pfx', fixture('legacy/www.contoso.com.pfx'), 1_800_000_000_000);
    let outcome = await scanner().scan(scan());
    expect(backend.reads).toBe(1);
    expect(outcome).toMatchObject({ parsed: 1, upserts: 1 });
    expect(upserts(sink.take())[0]?.pfx?.certificateEncryption).toBe('pbe-sha1-rc2-40');

    backend.reads = 0;
    const same = backend.files.get('expired.contoso.com.pfx')!;
    backend.put('expired.contoso.com.pfx', same.bytes, 1_900_000_000_000);
    outcome = await scanner().scan(scan());
    expect(outcome).toMatchObject({ parsed: 0, upserts: 1 });
    expect(upserts(sink.take())[0]?.modified).toBe(new Date(1_900_000_000_000).toISOString());
  });

  it('reports deletions and renames (a renamed file is not parsed again)', async () => {
    await scanner().scan(scan());
    sink.take();
    backend.files.delete('shop.contoso.com.pfx');
    const www = backend.files.get('www.contoso.com.pfx')!;
    backend.files.delete('www.contoso.com.pfx');
    backend.put('web.contoso.com.pfx', www.bytes, www.mtimeMs);
    const outcome = await scanner().scan(scan());
    expect(outcome).toMatchObject({ parsed: 0, upserts: 1, removed: 2, renamed: 1 });
    const [report] = sink.take();
    expect(report).toMatchObject({
      full: false,
      files: 3,
      removed: ['shop.contoso.com.pfx', 'www.contoso.com.pfx'],
      renamed: [{ from: 'www.contoso.com.pfx', to: 'web.contoso.com.pfx' }],
    });
    expect(report!.upserts.map((f) => [f.name, f.certificate?.subject])).toEqual([
      ['web.contoso.com.pfx', 'CN=www.contoso.com, O=Contoso Fixtures, C=US'],
    ]);
  });

  it('rereads everything when the private-key password changes', async () => {
    await scanner().scan(scan());
    sink.take();
    backend.reads = 0;
    applied(secrets.put('ccs-farm-private-key-password', ''));
    const outcome = await scanner().scan(scan());
    expect(outcome).toMatchObject({ full: true, parsed: 4 });
    const files = upserts(sink.take());
    expect(files.find((f) => f.name === 'shop.contoso.com.pfx')?.error).toBeNull();
    expect(files.find((f) => f.name === 'www.contoso.com.pfx')?.error?.code).toBe('wrong_password');
  });

  it('answers a full scan with every file, from the cache', async () => {
    await scanner().scan(scan());
    sink.take();
    backend.reads = 0;
    const outcome = await scanner().scan(scan(true));
    expect(backend.reads).toBe(0);
    expect(outcome).toMatchObject({ full: true, parsed: 0, upserts: 4 });
  });

  it('works with a backend that cannot stat: every file is read, none parsed or sent again', async () => {
    const plain = new ShareBackend();
    for (const [name, f] of backend.files) plain.put(name, f.bytes, f.mtimeMs);
    await scanner({}, plain).scan(scan());
    sink.take();
    plain.reads = 0;
    const outcome = await scanner({}, plain).scan(scan());
    expect(plain.reads).toBe(4);
    expect(outcome).toMatchObject({ parsed: 0, upserts: 0 });
  });

  it('lists a file over the PKCS#12 size limit with that problem, without reading it', async () => {
    backend.put('huge.contoso.com.pfx', Buffer.alloc(MAX_PFX_BYTES + 1));
    const outcome = await scanner().scan(scan());
    expect(backend.reads).toBe(4);
    const huge = upserts(sink.take()).find((f) => f.name === 'huge.contoso.com.pfx');
    expect(huge).toMatchObject({
      size: MAX_PFX_BYTES + 1,
      certificate: null,
      error: {
        code: 'unsupported',
        detail: `Unsupported PKCS#12 file size: ${MAX_PFX_BYTES + 1} bytes exceed the limit of ${MAX_PFX_BYTES}`,
      },
    });
    expect(outcome).toMatchObject({ files: 5, parsed: 4 });
  });

  it('reports why it could not scan: not applied, the share unreadable, the secret unavailable', async () => {
    state.record = { appliedGeneration: 0, appliedAt: null, desired: null };
    await scanner().scan(scan());
    expect(sink.take()).toMatchObject([{ error: { code: 'NotApplied' }, upserts: [] }]);

    applied(pkRef);
    backend.missing = true;
    await scanner().scan(scan());
    expect(sink.take()).toMatchObject([{ error: { code: 'ShareUnreadable', name: 'path' } }]);

    backend.missing = false;
    secrets.unavailable = true;
    await scanner().scan(scan());
    expect(sink.take()).toMatchObject([
      { error: { code: 'SecretUnavailable', name: 'private_key_password' } },
    ]);
  });
});

describe('a share of 10,000 files', () => {
  it('goes out in chunks under the queue limit, and a rescan opens no file and sends one message', async () => {
    backend.files.clear();
    const bytes = fixture('aes256/www.contoso.com.pfx');
    const sample = describeCertificateFile({ name: 'x', size: 1, mtimeMs: 0 }, bytes, PASSWORD);
    let parsed = 0;
    // The parse is the real one's output renamed: 10,000 PBKDF2 runs would only slow the test.
    const describe = (stat: FileStat): InventoryFile => {
      parsed++;
      return { ...sample, name: stat.name, size: stat.size, modified: new Date(stat.mtimeMs).toISOString() };
    };
    for (let i = 0; i < 10_000; i++) {
      backend.put(
        `host-${String(i).padStart(5, '0')}.contoso.com.pfx`,
        Buffer.from(`pfx-${i}`),
        1_700_000_000_000 + i,
      );
    }
    const first = await scanner({ describe }).scan(scan());
    const reports = sink.take();
    expect(first).toMatchObject({ files: 10_000, parsed: 10_000 });
    expect(reports.length).toBeGreaterThan(10);
    expect(reports.every((r) => r.chunk.count === reports.length)).toBe(true);
    expect(reports.map((r) => r.chunk.index)).toEqual(reports.map((_, i) => i));
    for (const report of reports) {
      expect(ReportSchema.safeParse(report).success).toBe(true);
      expect(encodeMessage(report).length).toBeLessThanOrEqual(64 * 1024);
    }
    expect(new Set(upserts(reports).map((f) => f.name)).size).toBe(10_000);

    backend.reads = 0;
    parsed = 0;
    const again = await scanner({ describe }).scan(scan());
    expect(backend.reads).toBe(0);
    expect(parsed).toBe(0);
    expect(again).toMatchObject({ reused: 10_000, upserts: 0, chunks: 1 });

    // Removing 5,000 files: their names fit a few messages.
    for (let i = 0; i < 5_000; i++)
      backend.files.delete(`host-${String(i).padStart(5, '0')}.contoso.com.pfx`);
    const removal = await scanner({ describe }).scan(scan());
    const removalReports = sink.take().slice(-removal.chunks);
    expect(removal.removed).toBe(5_000);
    for (const report of removalReports) expect(encodeMessage(report).length).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('the agent loop and scan commands', () => {
  function loop(inventory?: { scan(command: ScanCommand): Promise<unknown> }) {
    const queue = new FakeQueue();
    const store = new FakeSecretStore();
    const agent = new Agent(settings(), {
      queue,
      reports: new FakeReports(),
      backend: new FakeBackend(),
      secrets: new SecretCache(store),
      state: new MemoryStateStore(),
      verifyPfx: fakeVerifyPfx,
      log: agentLogger(() => {}),
      clock: new FakeClock(),
      inventory,
    });
    return { agent, queue };
  }
  const command = (): ScanCommand => ({ ...scan(), ccsId: 'farm-a', host: 'web01' });

  it('runs the scan, then deletes the message', async () => {
    const scans: ScanCommand[] = [];
    const { agent, queue } = loop({ scan: (c) => Promise.resolve(scans.push(c)) });
    const id = queue.push(encodeMessage(command()));
    expect(await agent.pollOnce()).toBe('handled');
    expect(scans).toHaveLength(1);
    expect(queue.deleted).toEqual([id]);
  });

  it('leaves the message for redelivery when the scan fails', async () => {
    const { agent, queue } = loop({ scan: () => Promise.reject(new Error('reports queue down')) });
    queue.push(encodeMessage(command()));
    expect(await agent.pollOnce()).toBe('failed');
    expect(queue.deleted).toEqual([]);
  });

  it('without a scanner, acknowledges the scan; after 5 failures it is set aside without a result report', async () => {
    const { agent, queue } = loop();
    const id = queue.push(encodeMessage(command()));
    expect(await agent.pollOnce()).toBe('handled');
    expect(queue.deleted).toEqual([id]);
    const failing = loop({ scan: () => Promise.reject(new Error('x')) });
    failing.queue.push(encodeMessage(command()), 5);
    expect(await failing.agent.pollOnce()).toBe('handled');
    expect(failing.queue.poisoned).toHaveLength(1);
  });
});
