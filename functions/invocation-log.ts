/**
 * Logs through the invocation's own `context.log`, so each line carries the invocation id (and
 * the request's trace) into Application Insights as a trace of that invocation, instead of
 * stdout, where it belongs to nothing. Lines are one JSON object each: the message as `msg`, the
 * fields of the invocation (its ccs-id, its operation) and of the line.
 *
 * Services log through the app's one Logger; while a handler runs (`inInvocation`), that logger
 * writes to the handler's context. Outside any invocation it writes to its fallback.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InvocationContext } from '@azure/functions';
import type { LogFields, Logger } from '../shared/log.js';

interface Scope {
  context: InvocationContext;
  fields: LogFields;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Run `work` as (part of) an invocation: the app's log lines go to `context` meanwhile. */
export function inInvocation<T>(
  context: InvocationContext,
  fields: LogFields,
  work: () => Promise<T>,
): Promise<T> {
  return scopes.run({ context, fields }, work);
}

/** The app's logger: the current invocation's `context.log`, else `fallback`. */
export function invocationLogger(fallback: Logger): Logger {
  const emit =
    (level: keyof Logger) =>
    (message: string, fields: LogFields = {}): void => {
      const scope = scopes.getStore();
      if (!scope) return fallback[level](message, fields);
      const line = JSON.stringify({ msg: message, ...scope.fields, ...fields });
      if (level === 'error') scope.context.error(line);
      else if (level === 'warn') scope.context.warn(line);
      else scope.context.info(line);
    };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
