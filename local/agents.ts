/**
 * The simulated fleet of the local stack: one real agent process per host, each with its own
 * config file, state folder and simulated registry, restarted if it dies (as the Windows
 * service would be), and stopped when the stack ends, however it ends (local/children.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AllowedLocation } from '../shared/paths.js';
import type { Logger } from '../shared/log.js';
import { spawnWatched, type WatchedChild } from './children.js';
import { writeDemoSites } from './demo-sites.js';
import { freePort } from './ports.js';
import { localStateDir } from './enrol-hosts.js';

export interface FleetSettings {
  dir: string;
  logs: string;
  ccsId: string;
  hosts: string[];
  connectionString: string;
  vaultUrl: string;
  caCertFile: string;
  vaultToken: string;
  shareRoot: string;
  allowedLocations: AllowedLocation[];
  /** Write the demo sites into each host's simulated IIS (local/demo-sites.ts). */
  demoSites: boolean;
  /** One-time enrolment codes of the hosts that need one (local/enrol-hosts.ts). */
  enrolmentCodes?: ReadonlyMap<string, string>;
}

const AGENT_MAIN = fileURLToPath(new URL('../agent/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export function agentConfigFile(settings: FleetSettings, host: string): string {
  const home = join(settings.dir, 'agents', host);
  const code = settings.enrolmentCodes?.get(host);
  mkdirSync(home, { recursive: true });
  const file = join(home, 'agent.json');
  const config = {
    ccsId: settings.ccsId,
    hostName: host,
    storage: { connectionString: settings.connectionString },
    keyVault: { url: settings.vaultUrl, caCertFile: settings.caCertFile, localToken: settings.vaultToken },
    backend: 'simulated',
    allowedLocations: settings.allowedLocations,
    // Fast settings for a local demo; the defaults (1 s to 30 s) are for real fleets.
    pollMinSeconds: 0.2,
    pollMaxSeconds: 2,
    helloIntervalSeconds: 60,
    driftIntervalSeconds: Number(process.env.CCS_LOCAL_DRIFT_SECONDS ?? 10),
    visibilityTimeoutSeconds: 30,
    stateDir: localStateDir(settings.dir, host),
    simulated: { stateDir: join(home, 'registry'), shareRoot: settings.shareRoot },
    ...(code ? { enrolmentCode: code } : {}),
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}

export interface Fleet {
  stop(): Promise<void>;
  /** The running process of a host (tests kill it to simulate a crash; it is restarted). */
  process(host: string): ChildProcess | undefined;
}

export function startFleet(settings: FleetSettings, log: Logger): Fleet {
  const children = new Map<string, WatchedChild>();
  // Each host's demo sites listen on a port of their own, kept across restarts (local/demo-sites.ts).
  const sitePorts = new Map<string, Promise<number>>();
  let stopping = false;
  const launch = async (host: string) => {
    if (!sitePorts.has(host)) sitePorts.set(host, freePort());
    const configFile = agentConfigFile(settings, host);
    if (settings.demoSites) {
      await writeDemoSites(join(settings.dir, 'agents', host, 'registry'), await sitePorts.get(host)!);
    }
    if (stopping) return;
    const out = openSync(join(settings.logs, `agent-${host}.log`), 'a');
    const child = spawnWatched(AGENT_MAIN, ['run', '--config', configFile], {
      nodeOptions: ['--import', TSX],
      output: out,
    });
    closeSync(out); // the child has its own copy
    children.set(host, child);
    child.process.once('exit', (code, signal) => {
      if (stopping) return;
      log.warn('agent exited; restarting', { host, code, signal });
      setTimeout(() => !stopping && void launch(host).catch(failed(host)), 1000);
    });
  };
  const failed = (host: string) => (error: unknown) =>
    log.error('agent could not be started', {
      host,
      error: error instanceof Error ? error.message : 'unknown',
    });
  for (const host of settings.hosts) void launch(host).catch(failed(host));
  return {
    process: (host) => children.get(host)?.process,
    async stop() {
      stopping = true;
      // As on Ctrl-C: each agent finishes the message in hand; killed if not done within 5 s.
      await Promise.all([...children.values()].map((child) => child.stop(5000)));
    },
  };
}
