/**
 * The local stand-in for the Functions queue trigger, with host.json's semantics: batches,
 * polling backoff up to `maxPollingInterval`, a failed message becomes visible again after
 * `visibilityTimeout`, and after `maxDequeueCount` attempts it moves to `<queue>-poison`.
 * Messages reach the handler as the host passes them: base64 decoded, JSON parsed when JSON.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { QueueRoute } from '../functions/route-table.js';
import type { StorageClients } from '../shared/adapters/storage.js';
import type { Logger } from '../shared/log.js';
import { poisonQueueName } from '../shared/names.js';
import { invocationContext } from './invocation-context.js';

export interface QueueHostSettings {
  batchSize: number;
  maxDequeueCount: number;
  visibilityTimeoutSeconds: number;
  maxPollingIntervalMs: number;
}

function seconds(timespan: string | undefined, fallback: number): number {
  const match = /^(\d+):(\d+):(\d+)$/.exec(timespan ?? '');
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : fallback;
}

/** Read the queue settings from host.json, as the Functions host does. */
export function queueSettingsFromHostJson(file: string): QueueHostSettings {
  const host = JSON.parse(readFileSync(file, 'utf8')) as {
    extensions?: { queues?: Record<string, unknown> };
  };
  const q = host.extensions?.queues ?? {};
  return {
    batchSize: Number(q.batchSize ?? 16),
    maxDequeueCount: Number(q.maxDequeueCount ?? 5),
    visibilityTimeoutSeconds: seconds(q.visibilityTimeout as string | undefined, 0),
    maxPollingIntervalMs: seconds(q.maxPollingInterval as string | undefined, 60) * 1000,
  };
}

function decode(text: string): unknown {
  const raw = /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text, 'base64').toString('utf8') : text;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export interface RunningTrigger {
  stop(): Promise<void>;
  /** Resolves after one full receive/handle pass (tests use it to make progress deterministic). */
  drain(): Promise<number>;
}

export function startQueueTrigger(
  route: QueueRoute,
  storage: StorageClients,
  settings: QueueHostSettings,
  log: Logger,
): RunningTrigger {
  const queue = storage.queue(route.queueName);
  const poison = storage.queue(poisonQueueName(route.queueName));
  let stopped = false;
  let ready: Promise<unknown> | undefined;

  const pass = async (): Promise<number> => {
    ready ??= Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]);
    await ready;
    const { receivedMessageItems: items } = await queue.receiveMessages({
      numberOfMessages: Math.min(32, settings.batchSize),
      visibilityTimeout: Math.max(30, settings.visibilityTimeoutSeconds + 30),
    });
    await Promise.all(
      items.map(async (item) => {
        if (item.dequeueCount > settings.maxDequeueCount) {
          await poison.sendMessage(item.messageText);
          await queue.deleteMessage(item.messageId, item.popReceipt);
          log.warn('message moved to poison queue', {
            queue: route.queueName,
            dequeueCount: item.dequeueCount,
          });
          return;
        }
        try {
          await route.handler(decode(item.messageText), invocationContext(route.name, log));
          await queue.deleteMessage(item.messageId, item.popReceipt);
        } catch {
          log.warn('queue handler failed; message will be retried', {
            queue: route.queueName,
            function: route.name,
          });
          await queue
            .updateMessage(item.messageId, item.popReceipt, undefined, settings.visibilityTimeoutSeconds)
            .catch(() => undefined);
        }
      }),
    );
    return items.length;
  };

  const loop = (async () => {
    let idleMs = 100;
    while (!stopped) {
      let handled = 0;
      try {
        handled = await pass();
      } catch {
        log.warn('queue poll failed; retrying', { queue: route.queueName });
      }
      idleMs = handled > 0 ? 100 : Math.min(idleMs * 2, settings.maxPollingIntervalMs);
      if (handled === 0) await delay(idleMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
    },
    drain: pass,
  };
}

/** Run each timer on its local interval until stopped. */
export function startTimers(
  routes: {
    name: string;
    localIntervalMs: number;
    handler: (t: unknown, c: ReturnType<typeof invocationContext>) => Promise<void>;
  }[],
  log: Logger,
): { stop(): void } {
  const handles = routes.map((route) => {
    let running = false;
    return setInterval(() => {
      if (running) return;
      running = true;
      route
        .handler({ isPastDue: false }, invocationContext(route.name, log))
        .catch(() => log.warn('timer failed', { function: route.name }))
        .finally(() => (running = false));
    }, route.localIntervalMs);
  });
  return { stop: () => handles.forEach((h) => clearInterval(h)) };
}
