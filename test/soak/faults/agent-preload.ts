/**
 * Loaded into every soak agent process with `--import` (before the agent itself), so two host
 * faults can be switched on and off from outside while the agent runs, with no test hook in the
 * agent's own code:
 *
 * - **Clock skew**: `Date.now()` and `new Date()` read the host's clock plus the offset written
 *   in `<CCS_SOAK_FAULT_DIR>/clock-skew` (milliseconds). A real host whose time service has
 *   drifted sees exactly that: wall-clock time moves, monotonic timers (setTimeout,
 *   performance.now) do not (Windows Time service: the system time is stepped or slewed; timers
 *   run on the tick count).
 * - **Full disk**: while `<CCS_SOAK_FAULT_DIR>/disk-full` exists, files opened for writing under
 *   `CCS_SOAK_STATE_DIR` (the agent's state folder) are created but every write fails with
 *   `ENOSPC`, as on a full volume: NTFS creates the directory entry and the write returns
 *   ERROR_DISK_FULL (112), which libuv maps to `ENOSPC` ("no space left on device",
 *   libuv src/win/error.c).
 *
 * The fault files are re-read every 100 ms; a missing folder means no fault.
 */
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve, sep } from 'node:path';

const faultDir = process.env.CCS_SOAK_FAULT_DIR;
const stateDir = process.env.CCS_SOAK_STATE_DIR ? resolve(process.env.CCS_SOAK_STATE_DIR) : undefined;

let skewMs = 0;
let diskFull = false;

function readFaults(): void {
  if (!faultDir) return;
  try {
    const value = Number(fs.readFileSync(join(faultDir, 'clock-skew'), 'utf8').trim());
    skewMs = Number.isFinite(value) ? value : 0;
  } catch {
    skewMs = 0;
  }
  diskFull = fs.existsSync(join(faultDir, 'disk-full'));
}

if (faultDir) {
  readFaults();
  setInterval(readFaults, 100).unref();
  installSkewedClock();
  installFullDisk();
}

function installSkewedClock(): void {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + skewMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return RealDate.now() + skewMs;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}

function noSpace(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), {
    code: 'ENOSPC',
    errno: -28,
    syscall,
    path,
  });
}

function installFullDisk(): void {
  if (!stateDir) return;
  const realOpen = fsp.open.bind(fsp);
  const inState = (path: unknown) =>
    typeof path === 'string' && (resolve(path) + sep).startsWith(stateDir + sep);
  const open = async (...args: Parameters<typeof fsp.open>): Promise<FileHandle> => {
    const [path, flags] = args;
    const handle = await realOpen(...args);
    const writing = typeof flags === 'string' && /[wa+]/.test(flags);
    if (!diskFull || !writing || !inState(path)) return handle;
    const fail = () => Promise.reject(noSpace('write', String(path)));
    return new Proxy(handle, {
      get(target, key, receiver) {
        if (key === 'write' || key === 'writeFile' || key === 'appendFile' || key === 'writev') return fail;
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  fsp.open = open;
  syncBuiltinESMExports();
}
