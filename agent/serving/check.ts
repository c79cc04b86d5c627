/**
 * The serving check after an apply: for every local CCS binding, a real TLS handshake (SNI = the
 * binding's host name, in ASCII) compared with the certificate of the share file IIS would serve
 * that name from (shared/coverage.ts). Results per binding: `ok`, `mismatch`, `failed`,
 * `skipped` (docs/agent.md, "The serving check").
 *
 * Bounded so that it never holds the agent up for long, whatever the bindings: each handshake has
 * `timeoutMs`, `concurrency` run at once, at most `maxProbes` distinct endpoints are probed per
 * apply (the rest are `skipped`), and each share file is read and opened once.
 */
import { ccsFileFor, ccsLookupName, indexCcsFiles, type CcsFileIndex } from '../../shared/coverage.js';
import { eachLimited } from '../../shared/each-limited.js';
import type { CcsBinding, ServingResult } from '../../shared/messages.js';
import type { Backend } from '../backends/backend.js';
import type { ProbeOutcome, TlsProbe } from './probe.js';

export const SERVING_DEFAULTS = { timeoutMs: 5_000, concurrency: 16, maxProbes: 256 } as const;

/** The store the serving check compares with: the applied path and private-key password. */
export interface AppliedStore {
  path: string;
  privateKeyPassword: string | null;
}

/** The applied store, or why there is none to compare with (CCS disabled, a secret unavailable). */
export type StoreToCompare = AppliedStore | { unavailable: string };

export interface ServingCheckDeps {
  backend: Pick<Backend, 'listPfx' | 'readFile'>;
  probe: TlsProbe;
  /** The leaf certificate's thumbprint of a PFX; throws when the password does not open it. */
  leafThumbprint: (pfx: Buffer, password: string) => string | null;
  timeoutMs?: number;
  concurrency?: number;
  maxProbes?: number;
}

/** Where to connect for a binding: loopback for the "all addresses" forms, else the bound address. */
export function connectAddress(ip: string): string {
  if (ip === '*' || ip === '' || ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '::1';
  return ip;
}

interface Expected {
  file: string | null;
  thumbprint: string | null;
  /** Why there is no expected certificate, in words; null when there is one. */
  problem: string | null;
}

/** The share as the serving check sees it: one listing, each file opened at most once. */
class ShareView {
  private listing: Promise<CcsFileIndex | string> | null = null;
  private readonly opened = new Map<string, Promise<Expected>>();

  constructor(
    private readonly store: StoreToCompare,
    private readonly deps: ServingCheckDeps,
  ) {}

  async expected(name: string): Promise<Expected> {
    const store = this.store;
    if ('unavailable' in store) return { file: null, thumbprint: null, problem: store.unavailable };
    this.listing ??= this.deps.backend.listPfx(store.path).then(
      (names) => indexCcsFiles(names),
      (error: unknown) => `the agent cannot list the store (${(error as Error).message})`.slice(0, 200),
    );
    const index = await this.listing;
    if (typeof index === 'string') return { file: null, thumbprint: null, problem: index };
    const file = ccsFileFor(name, index);
    if (file === null) return { file: null, thumbprint: null, problem: `the store has no file for ${name}` };
    let opening = this.opened.get(file);
    if (!opening) {
      opening = this.open(store, file);
      this.opened.set(file, opening);
    }
    return opening;
  }

  private async open(store: AppliedStore, file: string): Promise<Expected> {
    try {
      const thumbprint = this.deps.leafThumbprint(
        await this.deps.backend.readFile(store.path, file),
        store.privateKeyPassword ?? '',
      );
      return thumbprint
        ? { file, thumbprint, problem: null }
        : { file, thumbprint: null, problem: `${file} holds no certificate` };
    } catch (error) {
      const reason = (error as Error).message.slice(0, 120);
      return {
        file,
        thumbprint: null,
        problem: `${file} does not open with the store's private-key password (${reason})`,
      };
    }
  }
}

function judge(binding: CcsBinding, expected: Expected, probe: ProbeOutcome): ServingResult {
  const base = { site: binding.site, hostName: binding.hostName, port: binding.port, ip: binding.ip };
  const known = { file: expected.file, expected: expected.thumbprint };
  const problem = expected.problem ? `; ${expected.problem}` : '';
  if (!probe.ok) {
    return {
      ...base,
      ...known,
      status: 'failed',
      served: null,
      detail: `${probe.detail}${problem}`.slice(0, 512),
    };
  }
  if (expected.thumbprint === probe.thumbprint) {
    return { ...base, ...known, status: 'ok', served: probe.thumbprint, detail: `Serves ${expected.file}` };
  }
  const detail = expected.thumbprint
    ? `Serves another certificate than ${expected.file} (IIS may still hold the previous one until its CCS polling interval passes)`
    : `Serves a certificate although the store has none it can use${problem}`;
  return { ...base, ...known, status: 'mismatch', served: probe.thumbprint, detail: detail.slice(0, 512) };
}

function skipped(binding: CcsBinding, detail: string): ServingResult {
  return {
    site: binding.site,
    hostName: binding.hostName,
    port: binding.port,
    ip: binding.ip,
    status: 'skipped',
    detail,
    file: null,
    expected: null,
    served: null,
  };
}

/** One result per binding, in the order given. Never throws for a binding's sake. */
export async function checkServing(
  bindings: readonly CcsBinding[],
  store: StoreToCompare,
  deps: ServingCheckDeps,
): Promise<ServingResult[]> {
  const timeoutMs = deps.timeoutMs ?? SERVING_DEFAULTS.timeoutMs;
  const maxProbes = deps.maxProbes ?? SERVING_DEFAULTS.maxProbes;
  const share = new ShareView(store, deps);
  const results = new Array<ServingResult>(bindings.length);
  // Bindings that reach the same endpoint with the same name share one handshake.
  const endpoints = new Set<string>();
  const planned: { index: number; name: string; key: string }[] = [];
  bindings.forEach((binding, index) => {
    const name = ccsLookupName(binding.hostName);
    if (name === null || name.startsWith('*.')) {
      results[index] = skipped(
        binding,
        binding.hostName === ''
          ? 'No host name: IIS picks the certificate by the name each client sends'
          : `"${binding.hostName.slice(0, 100)}" is not a name a client sends in SNI`,
      );
      return;
    }
    const key = `${connectAddress(binding.ip)}|${binding.port}|${name}`;
    if (!endpoints.has(key) && endpoints.size >= maxProbes) {
      results[index] = skipped(binding, `Not checked: at most ${maxProbes} bindings are probed per apply`);
      return;
    }
    endpoints.add(key);
    planned.push({ index, name, key });
  });
  const started = new Map<string, Promise<ProbeOutcome>>();
  await eachLimited(planned, deps.concurrency ?? SERVING_DEFAULTS.concurrency, async (item) => {
    const binding = bindings[item.index]!;
    let probe = started.get(item.key);
    if (!probe) {
      probe = deps.probe({
        address: connectAddress(binding.ip),
        port: binding.port,
        serverName: item.name,
        timeoutMs,
      });
      started.set(item.key, probe);
    }
    const [expected, outcome] = await Promise.all([share.expected(item.name), probe]);
    results[item.index] = judge(binding, expected, outcome);
  });
  return results;
}
