/**
 * Fakes for the agent's ports: an in-memory command queue with visibility, a reports sink that
 * can be made to fail, a scriptable backend, a counting secret store and a fake clock. Unit
 * tests drive `Agent` with these.
 */
import {
  IDENTITY_PFX_MAX_BYTES,
  type Backend,
  type ResolvedDesired,
  type StoreAccess,
} from '../../agent/backends/backend.js';
import { BoundNamesGuard } from '../../agent/bindings/bound-names.js';
import { HostBindings } from '../../agent/bindings/host-bindings.js';
import type { TlsProbe } from '../../agent/serving/probe.js';
import { CommandVerifier } from '../../agent/command-signature.js';
import { FakeCommandKeys } from './command-keys.js';
import { agentLogger } from '../../agent/log.js';
import { Agent, type AgentClock, type AgentSettings } from '../../agent/loop.js';
import type { PfxCheck } from '../../agent/preflight.js';
import type { CommandQueue, ReceivedMessage, ReportSink } from '../../agent/queue.js';
import { SecretCache } from '../../agent/secrets.js';
import { MemoryStateStore, type AppliedRecord } from '../../agent/state.js';
import {
  encodeMessage,
  MESSAGE_VERSION,
  type ActualState,
  type CcsBinding,
  type Command,
  type DesiredState,
  type Report,
  type SecretRef,
} from '../../shared/messages.js';
import type { SecretStore } from '../../shared/ports.js';

export class FakeQueue implements CommandQueue {
  readonly name = 'h-fake-queue';
  private seq = 0;
  /** Visible or invisible messages still in the queue. */
  readonly messages: {
    id: string;
    popReceipt: string;
    text: string;
    dequeueCount: number;
    visible: boolean;
  }[] = [];
  readonly deleted: string[] = [];
  readonly poisoned: string[] = [];
  /** The visibility timeout of every receive. */
  readonly receivedFor: number[] = [];
  missing = false;
  failReceive = 0;

  push(payload: Command | string, dequeueCount = 0): string {
    const id = `m${++this.seq}`;
    const text = typeof payload === 'string' ? payload : encodeMessage(payload);
    this.messages.push({ id, popReceipt: `${id}-r0`, text, dequeueCount, visible: true });
    return id;
  }

  /** What a visibility timeout does: the message is visible again. */
  releaseAll(): void {
    for (const m of this.messages) m.visible = true;
  }

  receive(visibilityTimeoutSeconds: number): Promise<ReceivedMessage | undefined> {
    this.receivedFor.push(visibilityTimeoutSeconds);
    if (this.failReceive > 0) {
      this.failReceive -= 1;
      return Promise.reject(new Error('storage down'));
    }
    if (this.missing) return Promise.resolve(undefined);
    const m = this.messages.find((x) => x.visible);
    if (!m) return Promise.resolve(undefined);
    m.visible = false;
    m.dequeueCount += 1;
    m.popReceipt = `${m.id}-r${m.dequeueCount}`;
    return Promise.resolve({
      id: m.id,
      popReceipt: m.popReceipt,
      text: m.text,
      dequeueCount: m.dequeueCount,
    });
  }

  delete(message: ReceivedMessage): Promise<void> {
    const index = this.messages.findIndex((x) => x.id === message.id);
    if (index === -1) return Promise.resolve();
    if (this.messages[index]!.popReceipt !== message.popReceipt)
      return Promise.reject(new Error('stale pop receipt'));
    this.messages.splice(index, 1);
    this.deleted.push(message.id);
    return Promise.resolve();
  }

  async poison(message: ReceivedMessage): Promise<void> {
    this.poisoned.push(message.text);
    await this.delete(message);
  }
}

export class FakeReports implements ReportSink {
  readonly sent: Report[] = [];
  failNext = 0;

  send(report: Report): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new Error('reports queue unavailable'));
    }
    this.sent.push(report);
    return Promise.resolve();
  }

  ofType<T extends Report['type']>(type: T): Extract<Report, { type: T }>[] {
    return this.sent.filter((r): r is Extract<Report, { type: T }> => r.type === type);
  }
}

/** A scriptable host: folders that exist, who may read them, the .pfx files and what opens them. */
export class FakeBackend implements Backend {
  readonly name = 'fake';
  actual: ActualState = { enabled: false, path: null, username: null };
  readonly folders = new Set<string>();
  /** `path|username|password` triples that may read. */
  readonly access = new Set<string>();
  /** path → file name → the password that opens it. */
  readonly pfx = new Map<string, Map<string, string>>();
  readonly applied: ResolvedDesired[] = [];
  /** When set, every apply waits at this gate (the test sees it enter and decides when it goes on). */
  applyGate: Gate | undefined;
  applyError: Error | undefined;
  /** What `readBindings` answers (or throws). */
  bindings: CcsBinding[] = [];
  bindingsError: Error | undefined;
  bindingReads = 0;

  addShare(path: string, username: string, password: string, pfx: Record<string, string> = {}): void {
    this.folders.add(path.toLowerCase());
    this.access.add(`${path.toLowerCase()}|${username.toLowerCase()}|${password}`);
    this.pfx.set(path.toLowerCase(), new Map(Object.entries(pfx)));
  }

  readActual(): Promise<ActualState> {
    return Promise.resolve({ ...this.actual });
  }
  /** Folders the agent's own identity (the computer account) may not read. */
  readonly agentDenied = new Set<string>();

  /** The share's answer, in Windows' order: the folder, then the identity, then one .pfx read. */
  async checkStoreAccess(path: string, username: string, password: string): Promise<StoreAccess> {
    const key = path.toLowerCase();
    if (!this.folders.has(key))
      return { identity: { ok: false, failure: 'PathNotFound', win32: 3 }, agent: null };
    if (!this.access.has(`${key}|${username.toLowerCase()}|${password}`)) {
      return { identity: { ok: false, failure: 'LogonFailed', win32: 1326 }, agent: null };
    }
    // As CcsStoreProbe.cs: the first file small enough to read (sizes known only through statPfx).
    const statPfx = (this as Backend).statPfx?.bind(this);
    const sizes = statPfx ? await statPfx(path) : null;
    const [first] = sizes
      ? sizes.filter((f) => f.size <= IDENTITY_PFX_MAX_BYTES).map((f) => f.name)
      : await this.listPfx(path);
    return {
      identity: {
        ok: true,
        pfx: first === undefined ? null : { name: first, bytes: await this.readFile(path, first) },
      },
      agent: this.agentDenied.has(key) ? { ok: false, failure: 'AccessDenied', win32: 5 } : { ok: true },
    };
  }
  listPfx(path: string): Promise<string[]> {
    return Promise.resolve([...(this.pfx.get(path.toLowerCase())?.keys() ?? [])].sort());
  }
  readFile(path: string, fileName: string): Promise<Buffer> {
    const opens = this.pfx.get(path.toLowerCase())?.get(fileName);
    if (opens === undefined) return Promise.reject(new Error('no such file'));
    // The "file" carries the password that opens it; fakeVerifyPfx compares.
    return Promise.resolve(Buffer.from(opens, 'utf8'));
  }
  readBindings(): Promise<CcsBinding[]> {
    this.bindingReads += 1;
    return this.bindingsError ? Promise.reject(this.bindingsError) : Promise.resolve([...this.bindings]);
  }
  async apply(desired: ResolvedDesired): Promise<void> {
    if (this.applyGate) await this.applyGate.pass();
    if (this.applyError) throw this.applyError;
    this.applied.push(desired);
    this.actual = desired.enabled
      ? { enabled: true, path: desired.path, username: desired.username }
      : { enabled: false, path: this.actual.path, username: null };
  }
}

/** The "thumbprint" of a fake file: derived from what opens it (fakeVerifyPfx's convention). */
export const fakeThumbprint = (opens: string): string =>
  Buffer.from(opens.padEnd(20, '.').slice(0, 20), 'utf8').toString('hex').toUpperCase();

export const fakeLeafThumbprint = (pfx: Buffer, password: string): string => {
  if (fakeVerifyPfx(pfx, password) === 'wrong-password') throw new Error('wrong password');
  return fakeThumbprint(pfx.toString('utf8'));
};

export const fakeVerifyPfx = (pfx: Buffer, password: string): PfxCheck => {
  const opens = pfx.toString('utf8');
  if (opens === '') return 'unprotected';
  if (opens === '<malformed>') throw new Error('malformed pfx');
  return opens === password ? 'ok' : 'wrong-password';
};

/**
 * A point a fake's call waits at, so a test can act while the agent is in the middle of a step
 * (stop it, abort it) without guessing how long the step takes: `entered` resolves when a call
 * arrives, `release()` lets it (and every later one) through.
 */
export class Gate {
  readonly entered: Promise<void>;
  private enter!: () => void;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));

  constructor() {
    this.entered = new Promise((resolve) => (this.enter = resolve));
  }

  async pass(): Promise<void> {
    this.enter();
    await this.opened;
  }

  release(): void {
    this.open();
  }
}

export class FakeSecretStore implements SecretStore {
  private readonly values = new Map<string, string>();
  readonly reads: SecretRef[] = [];
  private versions = 0;
  unavailable = false;
  /** When set, every read waits at this gate. */
  gate: Gate | undefined;

  put(name: string, value: string): SecretRef {
    const ref = { name, version: `v${++this.versions}` };
    this.values.set(`${ref.name}/${ref.version}`, value);
    return ref;
  }
  setSecret(name: string, value: string): Promise<SecretRef> {
    return Promise.resolve(this.put(name, value));
  }
  async getSecret(ref: SecretRef): Promise<string> {
    this.reads.push(ref);
    if (this.gate) await this.gate.pass();
    const value = this.values.get(`${ref.name}/${ref.version}`);
    if (this.unavailable || value === undefined) {
      throw Object.assign(new Error('Key Vault getSecret failed (HTTP 404)'), { statusCode: 404 });
    }
    return value;
  }
  deleteSecret(): Promise<void> {
    return Promise.resolve();
  }
}

/** Time moves only when the agent sleeps; `onSleep` lets a test act (or stop) between polls. */
export class FakeClock implements AgentClock {
  /** The wall clock: a test may step it (a time-service correction). */
  time = Date.parse('2026-01-01T00:00:00Z');
  /** The monotonic clock: only sleeping moves it. */
  elapsed = 0;
  readonly sleeps: number[] = [];
  onSleep: (count: number) => void = () => {};

  now(): number {
    return this.time;
  }
  ticks(): number {
    return this.elapsed;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    this.elapsed += ms;
    this.onSleep(this.sleeps.length);
    return Promise.resolve();
  }
}

export const CCS_ID = 'farm-a';
export const HOST = 'web01';

export function settings(overrides: Partial<AgentSettings> = {}): AgentSettings {
  return {
    ccsId: CCS_ID,
    hostName: HOST,
    allowedLocations: [
      { path: '\\\\files\\ccs', claims: ['read'] },
      { path: 'D:\\certs', claims: ['read'] },
    ],
    environment: {},
    pollMinSeconds: 1,
    pollMaxSeconds: 8,
    helloIntervalSeconds: 100_000,
    driftIntervalSeconds: 100_000,
    visibilityTimeoutSeconds: 30,
    ...overrides,
  };
}

let operationSeq = 0;

export function command(
  type: 'preflight' | 'apply',
  generation: number,
  desired: DesiredState,
  header: { ccsId?: string; host?: string } = {},
): Command {
  return {
    v: MESSAGE_VERSION,
    type,
    ccsId: header.ccsId ?? CCS_ID,
    host: header.host ?? HOST,
    operationId: `op-${++operationSeq}`,
    generation,
    desired,
    issuedAt: new Date(0).toISOString(),
  };
}

export interface Harness {
  agent: Agent;
  queue: FakeQueue;
  reports: FakeReports;
  backend: FakeBackend;
  store: FakeSecretStore;
  secrets: SecretCache;
  state: MemoryStateStore;
  clock: FakeClock;
  logs: string[];
  /** The command-signing key: the API signs with it, the agent (with `verifySignatures`) verifies. */
  commandKeys: FakeCommandKeys;
}

export function harness(
  options: {
    settings?: Partial<AgentSettings>;
    applied?: AppliedRecord;
    /** Verify command signatures with `commandKeys`' public parts, as a deployed agent does. */
    verifySignatures?: boolean;
    /** Report bindings and check them (agent/bindings/), with this TLS probe. */
    probe?: TlsProbe;
  } = {},
): Harness {
  const queue = new FakeQueue();
  const reports = new FakeReports();
  const backend = new FakeBackend();
  const store = new FakeSecretStore();
  const secrets = new SecretCache(store);
  const state = new MemoryStateStore(options.applied);
  const clock = new FakeClock();
  const logs: string[] = [];
  const commandKeys = new FakeCommandKeys();
  const log = agentLogger((line) => logs.push(line), secrets.redact);
  const agentSettings = settings(options.settings);
  const bindings = options.probe
    ? {
        bindings: new HostBindings(
          {
            backend,
            state,
            secrets,
            environment: agentSettings.environment,
            log,
            serving: { probe: options.probe, leafThumbprint: fakeLeafThumbprint, timeoutMs: 1000 },
          },
          { ccsId: agentSettings.ccsId, hostName: agentSettings.hostName, now: () => new Date(clock.now()) },
        ),
        boundNames: new BoundNamesGuard({
          backend,
          state,
          secrets,
          environment: agentSettings.environment,
          verifyPfx: fakeVerifyPfx,
          log,
        }),
      }
    : {};
  const agent = new Agent(agentSettings, {
    ...bindings,
    queue,
    reports,
    backend,
    secrets,
    state,
    verifyPfx: fakeVerifyPfx,
    log,
    clock,
    ...(options.verifySignatures ? { verifier: new CommandVerifier(commandKeys, () => clock.now()) } : {}),
  });
  return { agent, queue, reports, backend, store, secrets, state, clock, logs, commandKeys };
}
