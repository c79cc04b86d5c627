/**
 * A Logger that keeps nothing but a count of its warnings and errors by message, so a benchmark
 * can say what went wrong (retries, failed folds, poisoned messages) without the cost of logs.
 */
import type { LogFields, Logger } from '../../shared/log.js';

export interface ProblemLog extends Logger {
  /** `warn: <message>` / `error: <message>` → count. */
  counts(): Record<string, number>;
  reset(): void;
}

export function problemLog(): ProblemLog {
  let counts: Record<string, number> = {};
  const note =
    (level: string) =>
    (message: string, fields: LogFields = {}) => {
      // The cause, when the caller gave one, shortened so that similar failures share a key.
      const cause = fields.error ?? fields.code;
      const key = `${level}: ${message}${cause === undefined ? '' : ` (${String(cause).slice(0, 100)})`}`;
      counts[key] = (counts[key] ?? 0) + 1;
    };
  return {
    info: () => {},
    warn: note('warn'),
    error: note('error'),
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
  };
}
