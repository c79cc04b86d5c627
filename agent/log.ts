/**
 * The agent's logs: JSON lines on stdout (the Windows service wrapper and `journalctl` both
 * keep stdout). Callers never pass secret values; as a second line of defence every line goes
 * through `redact`, which blanks any secret value the agent currently holds in memory.
 */
import { jsonLineLogger, type LogFields, type Logger } from '../shared/log.js';

export type { LogFields, Logger };

export function agentLogger(
  write: (line: string) => void,
  redact: (text: string) => string = (t) => t,
  base: LogFields = {},
): Logger {
  return jsonLineLogger((line) => write(redact(line)), base);
}

export const stdoutWriter = (line: string): void => {
  process.stdout.write(line);
};
