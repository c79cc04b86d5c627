/**
 * Shared by the PowerShell suites: finds pwsh, decides whether the suites run, and builds a
 * sandbox (a fake IIS state file, a share folder with one PFX, a backend wired to the stand-in
 * module test/powershell/FakeIIS/FakeIIS.psm1).
 *
 * pwsh comes from `scripts/install-tools.sh` (.tools/pwsh/pwsh), CCS_PWSH or PATH. Without it the
 * suites are skipped with a notice, unless CCS_REQUIRE_PWSH is set (CI), which turns the absence
 * into a failure.
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { PowerShellBackend, type PowerShellBackendOptions } from '../../agent/backends/powershell.js';
import type { RegistryReader, RegistryValue } from '../../agent/backends/windows-registry.js';
import { FIXTURE_PASSWORD, fixturePath } from '../support/pfx-fixtures.js';
import { findTool, toolRequired } from '../support/tools.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCRIPTS_DIR = join(ROOT, 'agent', 'powershell');
export const FAKE_MODULE = join(ROOT, 'test', 'powershell', 'FakeIIS', 'FakeIIS.psm1');
export const PFX_FIXTURE = fixturePath('aes256/www.contoso.com.pfx');
export const PFX_PASSWORD = FIXTURE_PASSWORD;

export const pwsh = findTool('pwsh', 'CCS_PWSH', 'pwsh/pwsh');
const required = toolRequired('CCS_REQUIRE_PWSH');
if (!pwsh && !required) {
  console.warn('PowerShell not found: PowerShell backend tests skipped (run scripts/install-tools.sh)');
}

/** `describe` when pwsh is here (or required, so that its absence fails), else `describe.skip`. */
export const describePwsh = pwsh || required ? describe : describe.skip;

export function requirePwsh(): string {
  if (!pwsh)
    throw new Error('PowerShell not found and CCS_REQUIRE_PWSH is set: run scripts/install-tools.sh');
  return pwsh;
}

/** A registry value in the stand-in's state, as the node-side reader decodes it. */
export interface FakeRegistryValue {
  type: 'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_DWORD' | 'REG_MULTI_SZ' | 'REG_BINARY';
  data: string | number | string[];
}

/** The fake Windows state (see FakeIIS.psm1 for every field). */
export interface FakeState {
  productType?: 1 | 3;
  osVersion?: string;
  feature?: 'Available' | 'Installed' | 'InstallPending';
  install?: 'ok' | 'restart' | 'fail';
  getOutput?: 'object' | 'text';
  registry?: Record<string, Record<string, FakeRegistryValue>>;
  shares?: Record<string, string>;
  drives?: Record<string, string>;
  accounts?: Record<string, { password?: string; shares: string[]; restriction?: string }>;
  windows?: {
    computerAccount?: string;
    sessions?: Record<string, { user: string }>;
    connections?: {
      session: string;
      server: string;
      share: string;
      user: string;
      explicit: boolean;
      drive?: string;
    }[];
  };
  services?: Record<string, Record<string, unknown>>;
  acl?: Record<string, { sid: string; rights: number; type: 'Allow' | 'Deny' }[]>;
  modules?: Record<string, boolean>;
  behaviour?: Record<string, { fail?: string; win32?: number; hang?: boolean; delayMs?: number }>;
  calls?: { command: string; parameters: Record<string, string> }[];
}

export const SHARE = '\\\\files\\ccs';
export const USER = 'CONTOSO\\ccs-reader';
/** The web server's own account on the network (LocalSystem's credentials on a share). */
export const COMPUTER = 'CONTOSO\\WEB01$';

export const PROVIDER_KEY = 'SOFTWARE\\Microsoft\\IIS\\CentralCertProvider';
const COMPONENTS_KEY = 'SOFTWARE\\Microsoft\\InetStp\\Components';
const REBOOT_PENDING_KEY =
  'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending';
const VERSION_KEY = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion';

/** The registry a Windows Server with this feature state and version has (the stand-in keeps it up). */
function initialRegistry(state: FakeState): NonNullable<FakeState['registry']> {
  const [major, minor, build] = (state.osVersion ?? '10.0.20348').split('.');
  const registry: NonNullable<FakeState['registry']> = {
    [VERSION_KEY]: {
      CurrentMajorVersionNumber: { type: 'REG_DWORD', data: Number(major) },
      CurrentMinorVersionNumber: { type: 'REG_DWORD', data: Number(minor) },
      CurrentBuildNumber: { type: 'REG_SZ', data: build ?? '' },
    },
    [COMPONENTS_KEY]: {},
  };
  if (state.feature === 'Installed') registry[COMPONENTS_KEY]!.CertProvider = { type: 'REG_DWORD', data: 1 };
  if (state.feature === 'InstallPending') registry[REBOOT_PENDING_KEY] = {};
  return registry;
}

/** The node-side view of the stand-in's registry: what the agent's reader reads instead of HKLM. */
export class FakeIisRegistry implements RegistryReader {
  constructor(private readonly stateFile: string) {}

  readValues(key: string, names: readonly string[]): Map<string, RegistryValue> | null {
    const state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as FakeState;
    const found = Object.entries(state.registry ?? {}).find(([k]) => k.toLowerCase() === key.toLowerCase());
    if (!found) return null;
    const values = new Map<string, RegistryValue>();
    for (const name of names) {
      const entry = Object.entries(found[1]).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
      if (entry) values.set(name, entry as RegistryValue);
    }
    return values;
  }
}

export interface Sandbox {
  dir: string;
  stateFile: string;
  /** The local folder behind `\\files\ccs` (one PFX in it). */
  shareFolder: string;
  state(): Promise<FakeState>;
  setState(patch: Partial<FakeState>): Promise<void>;
  commands(): Promise<string[]>;
  /** The CentralCertProvider values as IIS holds them (passwords in clear: the stand-in's, test only). */
  provider(): Promise<Record<string, string | number>>;
  backend(options?: PowerShellBackendOptions): PowerShellBackend;
  cleanup(): Promise<void>;
}

/**
 * A fresh fake server whose share `\\files\ccs` the account `CONTOSO\ccs-reader` / `sharePassword`
 * and the server's own computer account read.
 */
export async function sandbox(sharePassword: string, initial: FakeState = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'ccs-pwsh-'));
  const shareFolder = join(dir, 'share');
  await mkdir(shareFolder);
  await copyFile(PFX_FIXTURE, join(shareFolder, 'www.contoso.com.pfx'));
  const stateFile = join(dir, 'fake-iis.json');
  const write = (state: FakeState) => writeFile(stateFile, JSON.stringify(state, null, 2));
  const base: FakeState = {
    productType: 3,
    feature: 'Available',
    shares: { [SHARE]: shareFolder },
    accounts: {
      [USER]: { password: sharePassword, shares: [SHARE] },
      [COMPUTER]: { shares: [SHARE] },
    },
    windows: { computerAccount: COMPUTER, sessions: {}, connections: [] },
    ...initial,
  };
  await write({ registry: initialRegistry(base), ...base });
  const state = async (): Promise<FakeState> => JSON.parse(await readFile(stateFile, 'utf8')) as FakeState;
  return {
    dir,
    stateFile,
    shareFolder,
    state,
    setState: async (patch) => write({ ...(await state()), ...patch }),
    commands: async () => ((await state()).calls ?? []).map((c) => c.command),
    provider: async () => {
      const key = Object.entries((await state()).registry ?? {}).find(
        ([k]) => k.toLowerCase() === PROVIDER_KEY.toLowerCase(),
      );
      return Object.fromEntries(
        Object.entries(key?.[1] ?? {}).map(([name, v]) => [name, v.data as string | number]),
      );
    },
    backend: (options = {}) =>
      new PowerShellBackend({
        executable: requirePwsh(),
        testModule: FAKE_MODULE,
        timeoutSeconds: 60,
        registry: new FakeIisRegistry(stateFile),
        ...options,
        env: { CCS_FAKEIIS_STATE: stateFile, ...options.env },
      }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Watches children while they run: every few milliseconds, the command line and the environment
 * of each one, as the kernel shows them to any other process of the same user (/proc).
 */
export class ProcWatcher {
  readonly snapshots: { pid: number; script: string; cmdline: string; environ: string }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  readonly onSpawn = ({ pid, script }: { pid: number; script: string }): void => {
    const look = () => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').join('\n');
        if (cmdline.trim() === '') throw new Error('exited');
        this.snapshots.push({ pid, script, cmdline, environ });
      } catch {
        clearInterval(timer);
        this.timers.delete(timer);
      }
    };
    const timer = setInterval(look, 20);
    this.timers.add(timer);
    look();
  };

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
  }
}

/** A secret that would break naive quoting anywhere: quotes, $(), ;, |, backtick, non-ASCII. */
export function canary(label: string): string {
  return `canary-${label}-${Math.random().toString(36).slice(2, 10)}-ü€ "q" '$(Get-Date)' ;|&\`$env:PATH`;
}
