/**
 * A port the local stack needs is taken: say which port, which program holds it (when it can be
 * found) and which setting moves the stack elsewhere — instead of an EADDRINUSE stack trace.
 */
import { createServer } from 'node:net';
import { portHolder, type ProcessEntry } from './processes.js';

/** A port of the local stack and the `npm start` setting that chooses it. */
export interface PortSetting {
  /** The environment variable (`PORT`, `CCS_QUEUE_PORT`, …). */
  setting: string;
  /** What listens there, for the message (`the API`, `Azurite's queue service`). */
  role: string;
  port: number;
}

/** A stack port that is taken; the message is the one line `npm start` prints. */
export class PortInUseError extends Error {
  constructor(
    readonly port: PortSetting,
    readonly holder: ProcessEntry | undefined,
  ) {
    const by = holder ? `by ${describeProcess(holder)}` : 'by another program';
    super(
      `port ${port.port} (${port.role}) is already in use ${by}; stop that program, or set ${port.setting} to another port (0 picks a free one)`,
    );
    this.name = 'PortInUseError';
  }
}

/** `node server.js (pid 1234)`, the command shortened to stay on one line. */
export function describeProcess(entry: ProcessEntry): string {
  const command = entry.command.length > 100 ? `${entry.command.slice(0, 99)}…` : entry.command;
  return command ? `${command} (pid ${entry.pid})` : `pid ${entry.pid}`;
}

/** A listen error that means "someone else has this port" (Node sets `code` and `port`). */
export function isAddressInUse(error: unknown): error is { code: 'EADDRINUSE'; port?: number } {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

export async function portInUse(port: PortSetting): Promise<PortInUseError> {
  return new PortInUseError(port, await portHolder(port.port));
}

/**
 * Fails with a PortInUseError for the first fixed port (non-zero) that cannot be listened on at
 * 127.0.0.1, before anything is started — the same address the stack's servers bind.
 */
export async function assertPortsFree(ports: PortSetting[]): Promise<void> {
  for (const port of ports) {
    if (port.port === 0) continue;
    const refusal = await listenRefusal(port.port);
    if (refusal === 'EADDRINUSE') throw await portInUse(port);
    if (refusal !== null) {
      throw new Error(
        `port ${port.port} (${port.role}) cannot be used (${refusal}); set ${port.setting} to another port (0 picks a free one)`,
      );
    }
  }
}

/** null when 127.0.0.1:port can be listened on, else the error code (EADDRINUSE, EACCES…). */
function listenRefusal(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(null)));
  });
}
