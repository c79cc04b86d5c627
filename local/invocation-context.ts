/**
 * An InvocationContext for the local host, whose log goes to the stack's logger: the structured
 * lines of functions/invocation-log.ts are written back as the fields they were, so the local
 * log files read as before.
 */
import functions, { type InvocationContext } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import type { LogFields, Logger } from '../shared/log.js';

const { InvocationContext: Context } = functions;

/** A line's message and fields: a structured line's own, or the text as the message. */
function parseLine(args: unknown[]): { message: string; fields: LogFields } {
  const text = args.map(String).join(' ');
  if (args.length === 1 && text.startsWith('{')) {
    try {
      const { msg, ...fields } = JSON.parse(text) as LogFields & { msg?: unknown };
      if (typeof msg === 'string') return { message: msg, fields };
    } catch {
      // not one of ours: logged as text
    }
  }
  return { message: text, fields: {} };
}

export function invocationContext(functionName: string, log: Logger): InvocationContext {
  return new Context({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => {
      const { message, fields } = parseLine(args);
      const all = { function: functionName, ...fields };
      if (level === 'error' || level === 'critical') log.error(message, all);
      else if (level === 'warning') log.warn(message, all);
      else log.info(message, all);
    },
  });
}
