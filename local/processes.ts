/**
 * What the local stack needs to know about other processes on this machine: which ones exist
 * (with their parent and command line), whether one is still alive, and which one listens on a
 * TCP port. Linux reads /proc (no tool needed, present even in slim containers); macOS and other
 * POSIX systems use `ps` and `lsof`; Windows uses PowerShell's Win32_Process and `netstat -ano`.
 * Every lookup is best effort: a failure yields "unknown", never an exception.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One entry of the machine's process table. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** The command line, arguments separated by single spaces. */
  command: string;
}

/** Every process this user can see, or an empty list when the table cannot be read. */
export async function listProcesses(): Promise<ProcessEntry[]> {
  try {
    if (process.platform === 'linux') return listFromProc();
    if (process.platform === 'win32') return await listFromWindows();
    return await listFromPs();
  } catch {
    return [];
  }
}

/** The entry of one process, or undefined when it is gone or cannot be seen. */
export async function processEntry(pid: number): Promise<ProcessEntry | undefined> {
  if (process.platform === 'linux') return procEntry(String(pid)) ?? undefined;
  return (await listProcesses()).find((p) => p.pid === pid);
}

/** False once `pid` has exited (a zombie waiting for its parent counts as exited). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  const stat = procStat(String(pid));
  return stat !== null && stat.state !== 'Z';
}

/**
 * When the process started, in a form that differs between two processes that had the same pid
 * (Linux: clock ticks since boot, /proc/<pid>/stat field 22). Undefined where it is not known.
 */
export function processStartTime(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return procStat(String(pid))?.startTime;
}

/** The process listening on TCP `port` (any local address), when it can be found. */
export async function portHolder(port: number): Promise<ProcessEntry | undefined> {
  try {
    const pid =
      process.platform === 'linux'
        ? listenerFromProc(port)
        : process.platform === 'win32'
          ? await listenerFromNetstat(port)
          : await listenerFromLsof(port);
    return pid === undefined ? undefined : ((await processEntry(pid)) ?? { pid, ppid: 0, command: '' });
  } catch {
    return undefined;
  }
}

// --- Linux: /proc (proc(5)) ---

function procStat(pid: string): { state: string; ppid: number; startTime: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), startTime: fields[19] ?? '' };
  } catch {
    return null;
  }
}

function procEntry(pid: string): ProcessEntry | null {
  const stat = procStat(pid);
  if (stat === null || stat.state === 'Z') return null;
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid: Number(pid), ppid: stat.ppid, command };
  } catch {
    return null;
  }
}

function listFromProc(): ProcessEntry[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(procEntry)
    .filter((entry): entry is ProcessEntry => entry !== null);
}

function listenerFromProc(port: number): number | undefined {
  // /proc/net/tcp{,6}: local address as HEXIP:HEXPORT, state 0A is LISTEN, then the socket inode.
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const localPort = parseInt(cols[1]?.split(':')[1] ?? '', 16);
      if (localPort === port && cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process: not inspectable
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

// --- macOS and other POSIX systems ---

async function listFromPs(): Promise<ProcessEntry[]> {
  const { stdout } = await run('ps', ['-A', '-ww', '-o', 'pid=,ppid=,args='], { maxBuffer: 16 << 20 });
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), command: (m[3] ?? '').trim() }));
}

async function listenerFromLsof(port: number): Promise<number | undefined> {
  const { stdout } = await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-t']);
  const pid = Number(stdout.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

// --- Windows ---

async function listFromWindows(): Promise<ProcessEntry[]> {
  const script =
    'Get-CimInstance Win32_Process | Select-Object ProcessId,ParentProcessId,CommandLine | ConvertTo-Json -Compress';
  const { stdout } = await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', script], {
    maxBuffer: 16 << 20,
    windowsHide: true,
  });
  const rows = JSON.parse(stdout) as
    | { ProcessId: number; ParentProcessId: number; CommandLine: string | null }[]
    | { ProcessId: number; ParentProcessId: number; CommandLine: string | null };
  return (Array.isArray(rows) ? rows : [rows]).map((row) => ({
    pid: row.ProcessId,
    ppid: row.ParentProcessId,
    command: row.CommandLine ?? '',
  }));
}

async function listenerFromNetstat(port: number): Promise<number | undefined> {
  // `netstat -ano` lines: "  TCP    127.0.0.1:7071    0.0.0.0:0    LISTENING    1234" (IPv6: [::]:7071).
  const { stdout } = await run('netstat', ['-ano'], { windowsHide: true });
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === 'TCP' && cols[1]?.endsWith(`:${port}`) && cols[3] === 'LISTENING') return Number(cols[4]);
  }
  return undefined;
}
