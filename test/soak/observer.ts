/**
 * What the soak sees of the fleet, recorded into the history as it happens:
 * - each host's applied generation (its state file) and IIS state (the simulated registry),
 *   with the host row's `last_error` from the API, whenever any of them changes;
 * - every command the API puts on a host queue (the real queue client, observed in process),
 *   and every command an agent handled (its log lines);
 * - every report the report processor is handed;
 * - the desired state as the API answers it.
 */
import { readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueClient } from '@azure/storage-queue';
import type { FaultStack } from '../hardening/support/fault-stack.js';
import { decodeMessageText } from '../../shared/messages.js';
import type { CommandEvent, HistoryRecorder, HostStateEvent } from './history.js';
import type { SoakApi } from './api-client.js';

interface HostView {
  appliedGeneration: number;
  actual: HostStateEvent['actual'];
}

type HostErrors = Map<string, { code: string; detail: string } | null>;

const COMMAND_QUEUE = /^h-.*(?<!-poison)$/;

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null; // not written yet, or being replaced
  }
}

/** A command's identity as recorded, from a queue message's text (null when not a command). */
export function describeCommand(
  text: string,
): Pick<CommandEvent, 'ccsId' | 'host' | 'type' | 'operationId' | 'generation'> | null {
  try {
    const c = decodeMessageText(text) as Record<string, unknown>;
    if (c.type !== 'apply' && c.type !== 'preflight' && c.type !== 'scan') return null;
    return {
      ccsId: String(c.ccsId),
      host: String(c.host),
      type: c.type,
      operationId: typeof c.operationId === 'string' ? c.operationId : null,
      generation: Number(c.generation),
    };
  } catch {
    return null;
  }
}

export class FleetObserver {
  private readonly last = new Map<string, string>();
  private readonly logOffsets = new Map<string, number>();
  readonly errors: HostErrors = new Map();
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly stack: FaultStack,
    private readonly recorder: HistoryRecorder,
    private readonly api: SoakApi,
  ) {}

  /** Records every command the API sends, through the real queue client it sends with. */
  watchCommandSends(onSent: (host: string, text: string) => void): void {
    const storage = this.stack.storage;
    const open = storage.queue.bind(storage);
    storage.queue = (name: string): QueueClient => {
      const client = open(name);
      if (!COMMAND_QUEUE.test(name)) return client;
      const send = client.sendMessage.bind(client);
      client.sendMessage = async (text, options) => {
        const answer = await send(text, options);
        const command = describeCommand(text);
        if (command) {
          this.recorder.record({ kind: 'command', ...command, delivery: 'sent' });
          onSent(command.host, text);
        }
        return answer;
      };
      return client;
    };
  }

  /** For the stack's `onReport`: every report the processor is handed. */
  report(message: unknown): void {
    const r = (typeof message === 'string' ? decodeMessageText(message) : message) as Record<string, unknown>;
    if (r.type !== 'hello' && r.type !== 'result' && r.type !== 'drift' && r.type !== 'inventory') return;
    this.recorder.record({
      kind: 'report',
      ccsId: String(r.ccsId),
      host: String(r.host),
      type: r.type,
      operationId: typeof r.operationId === 'string' ? r.operationId : null,
      phase: r.phase === 'preflight' || r.phase === 'apply' ? r.phase : null,
      generation: Number(r.generation ?? r.appliedGeneration ?? 0),
      outcome:
        r.outcome === 'succeeded' || r.outcome === 'failed' || r.outcome === 'superseded' ? r.outcome : null,
      appliedGeneration: Number(r.appliedGeneration ?? 0),
    });
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample()).catch(() => undefined);
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sampling;
  }

  /** One look at every host (and the API's rows of them). */
  async sample(): Promise<void> {
    await this.hostRows();
    for (const host of this.stack.hosts) {
      this.tailLog(host);
      this.recordHost(host);
    }
  }

  /** The desired state as the API answers it (404: not enabled), recorded; null if unanswered. */
  async readDesired(): Promise<{ enabled: boolean; generation: number } | null> {
    const path = `/webserver/centralized-certificates/${this.stack.ccsId}`;
    const ccs = await this.api.call('observer', 'GET', path);
    const hosts = await this.hostRows();
    if (hosts === null || (ccs.status !== 200 && ccs.status !== 404)) return null;
    const body = ccs.body as { path?: string; identity?: { username?: string | null }; generation?: number };
    const generation = ccs.status === 200 ? Number(body.generation) : hosts.desiredGeneration;
    this.recorder.record({
      kind: 'desired',
      ccsId: this.stack.ccsId,
      generation,
      desired:
        ccs.status === 200
          ? { enabled: true, path: body.path ?? null, username: body.identity?.username ?? null }
          : { enabled: false, path: null, username: null },
    });
    return { enabled: ccs.status === 200, generation };
  }

  private async hostRows(): Promise<{ desiredGeneration: number } | null> {
    const res = await this.api.call(
      'observer',
      'GET',
      `/webserver/centralized-certificates/${this.stack.ccsId}/hosts`,
    );
    if (res.status !== 200) return null;
    const body = res.body as {
      desired_generation: number;
      hosts: { name: string; last_error: { code: string; detail: string } | null }[];
    };
    for (const h of body.hosts) {
      this.errors.set(h.name, h.last_error ? { code: h.last_error.code, detail: h.last_error.detail } : null);
    }
    return { desiredGeneration: body.desired_generation };
  }

  private hostView(host: string): HostView {
    const agent = this.stack.agents.get(host)!;
    const applied = readJson<{ appliedGeneration: number }>(join(agent.stateDir, 'applied.json'));
    const registry = readJson<{
      Enabled?: number;
      CertStoreLocation?: string | null;
      UserName?: string | null;
    }>(join(agent.registryDir, 'registry.json'));
    const enabled = registry?.Enabled === 1;
    return {
      appliedGeneration: applied?.appliedGeneration ?? 0,
      actual: {
        enabled,
        path: enabled ? (registry?.CertStoreLocation ?? null) : null,
        username: enabled ? (registry?.UserName ?? null) : null,
      },
    };
  }

  /** Records the host when anything about it changed since the last record (or when forced). */
  recordHost(host: string, force = false): void {
    const view = this.hostView(host);
    const lastError = this.errors.get(host) ?? null;
    const key = JSON.stringify([view, lastError]);
    if (!force && this.last.get(host) === key) return;
    this.last.set(host, key);
    this.recorder.record({ kind: 'host-state', ccsId: this.stack.ccsId, host, ...view, lastError });
  }

  /** The applied generation of each host, as its state file says. */
  appliedGenerations(): Map<string, number> {
    return new Map(this.stack.hosts.map((h) => [h, this.hostView(h).appliedGeneration]));
  }

  /** New lines of a host's agent log: the commands it handled. */
  tailLog(host: string): void {
    const file = this.stack.agents.get(host)!.logFile;
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    const from = this.logOffsets.get(host) ?? 0;
    if (size <= from) return;
    const buffer = Buffer.alloc(size - from);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, from);
    } finally {
      closeSync(fd);
    }
    const text = buffer.toString('utf8');
    const complete = text.lastIndexOf('\n') + 1;
    this.logOffsets.set(host, from + Buffer.byteLength(text.slice(0, complete)));
    for (const line of text.slice(0, complete).split('\n')) this.commandFromLog(host, line);
  }

  private commandFromLog(host: string, line: string): void {
    if (!line.includes('"generation"')) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const msg = String(entry.msg);
    const type =
      msg === 'applied' || msg === 'apply failed' || msg === 'apply failed preflight'
        ? 'apply'
        : msg === 'preflight passed' || msg === 'preflight failed preflight'
          ? 'preflight'
          : msg === 'command superseded' && (entry.type === 'apply' || entry.type === 'preflight')
            ? entry.type
            : null;
    if (!type) return;
    this.recorder.record({
      kind: 'command',
      ccsId: this.stack.ccsId,
      host,
      type,
      operationId: typeof entry.operationId === 'string' ? entry.operationId : null,
      generation: Number(entry.generation),
      delivery: 'received',
    });
  }
}
