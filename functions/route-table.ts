/**
 * The one route table. Each function module calls `defineHttp` / `defineQueue` / `defineTimer`,
 * which register with the Functions host (`app.*`) AND record the definition here, so the local
 * host and the tests route exactly what Azure routes. Outside the Functions host `app.*`
 * registers nothing (test mode); the table is what we read then.
 */
import { app, type HttpHandler, type InvocationContext } from '@azure/functions';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'HEAD' | 'PUT' | 'OPTIONS';

export interface HttpRoute {
  name: string;
  /** Functions route template, relative to the `api` prefix of host.json (e.g. `operations/{id}`). */
  route: string;
  methods: HttpMethod[];
  handler: HttpHandler;
}

export type QueueHandler = (message: unknown, context: InvocationContext) => Promise<void>;

export interface QueueRoute {
  name: string;
  queueName: string;
  handler: QueueHandler;
}

export type TimerHandler = (timer: unknown, context: InvocationContext) => Promise<void>;

export interface TimerRoute {
  name: string;
  /** NCRONTAB with seconds, as the Functions timer trigger takes it. */
  schedule: string;
  /** How often the local host runs it (the local stack wants faster progress than Azure). */
  localIntervalMs: number;
  handler: TimerHandler;
}

export const httpRoutes: HttpRoute[] = [];
export const queueRoutes: QueueRoute[] = [];
export const timerRoutes: TimerRoute[] = [];

export function defineHttp(route: HttpRoute): void {
  httpRoutes.push(route);
  // Authentication happens in code (Access-Token keys and Entra tokens), hence 'anonymous'.
  app.http(route.name, {
    route: route.route,
    methods: route.methods,
    authLevel: 'anonymous',
    handler: route.handler,
  });
}

export function defineQueue(route: QueueRoute): void {
  queueRoutes.push(route);
  app.storageQueue(route.name, {
    queueName: route.queueName,
    connection: 'AzureWebJobsStorage',
    handler: route.handler,
  });
}

export function defineTimer(route: TimerRoute): void {
  timerRoutes.push(route);
  app.timer(route.name, { schedule: route.schedule, handler: route.handler });
}

/** Match a Functions route template (`a/{x}/b`) against a path relative to `/api/`. */
export function matchRoute(template: string, path: string): Record<string, string> | null {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return null;
      try {
        params[w.slice(1, -1).replace(/[?:].*$/, '')] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w.toLowerCase() !== g.toLowerCase()) {
      return null;
    }
  }
  return params;
}
