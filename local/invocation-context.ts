/** An InvocationContext for the local host, whose log goes to the stack's logger. */
import functions, { type InvocationContext } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/log.js';

const { InvocationContext: Context } = functions;

export function invocationContext(functionName: string, log: Logger): InvocationContext {
  const text = (args: unknown[]) => args.map(String).join(' ');
  return new Context({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => {
      const message = text(args);
      if (level === 'error' || level === 'critical') log.error(message, { function: functionName });
      else if (level === 'warning') log.warn(message, { function: functionName });
      else log.info(message, { function: functionName });
    },
  });
}
