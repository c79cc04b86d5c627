/**
 * A small structured logger port. Callers pass field names and non-secret values only; the
 * Functions edge adapts it to InvocationContext, the local stack and the agent write JSON lines.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function jsonLineLogger(write: (line: string) => void, base: LogFields = {}): Logger {
  const emit =
    (level: string) =>
    (message: string, fields: LogFields = {}) =>
      write(
        JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields }) + '\n',
      );
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
