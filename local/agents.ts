/**
 * The simulated fleet of the local stack: one real agent process per host, each with its own
 * config file, state folder and simulated registry, restarted if it dies (as the Windows
 * service would be).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AllowedLocation } from '../shared/paths.js';
import type { Logger } from '../shared/log.js';

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
}

const AGENT_MAIN = fileURLToPath(new URL('../agent/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export function agentConfigFile(settings: FleetSettings, host: string): string {
  const home = join(settings.dir, 'agents', host);
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
    stateDir: join(home, 'state'),
    simulated: { stateDir: join(home, 'registry'), shareRoot: settings.shareRoot },
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
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const launch = (host: string) => {
    const out = openSync(join(settings.logs, `agent-${host}.log`), 'a');
    const child = spawn(
      process.execPath,
      ['--import', TSX, AGENT_MAIN, 'run', '--config', agentConfigFile(settings, host)],
      {
        stdio: ['ignore', out, out],
      },
    );
    children.set(host, child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.warn('agent exited; restarting', { host, code, signal });
      setTimeout(() => !stopping && launch(host), 1000);
    });
  };
  settings.hosts.forEach(launch);
  return {
    process: (host) => children.get(host),
    async stop() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
              child.once('exit', () => (clearTimeout(timer), resolve()));
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
