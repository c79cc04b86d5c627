/**
 * The one route table. Each function module calls `defineHttp` / `defineQueue` / `defineTimer`,
 * which record the definition here AND, inside the Functions host, register it (`app.*`), so the
 * local host and the tests route exactly what Azure routes. Outside the host the table is what
 * we read, and `app.*` is not called at all (it would only print a test-mode warning per call).
 */
import { createRequire } from 'node:module';
import { app, type HttpHandler, type InvocationContext } from '@azure/functions';
import { parseTemplate } from './route-template.js';

export { documentedPath, matchRoute, routePath, ROUTE_PREFIX } from './route-template.js';

/**
 * True inside the Functions host. The Node.js worker provides `@azure/functions-core` by
 * intercepting `require` before it loads the app (azure-functions-nodejs-worker,
 * src/setupCoreModule.ts); it is not an installable package. `@azure/functions` uses the same
 * probe to choose between registering and test mode (src/utils/tryGetCoreApiLazy.ts), so this
 * agrees with the library by construction — unlike an environment variable such as
 * FUNCTIONS_WORKER_RUNTIME, which a developer's shell or local.settings.json may also set.
 */
export const insideFunctionsHost: boolean = (() => {
  try {
    createRequire(import.meta.url)('@azure/functions-core');
    return true;
  } catch {
    return false;
  }
})();

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'HEAD' | 'PUT' | 'OPTIONS';

export interface HttpRoute {
  name: string;
  /**
   * Functions route template, relative to the `api` prefix of host.json (e.g. `operations/{id}`);
   * the syntax functions/route-template.ts matches as the host does.
   */
  route: string;
  methods: HttpMethod[];
  handler: HttpHandler;
  /**
   * Answers without credentials (the console's files, the sign-in options): such a handler does
   * not go through `guarded` and must serve nothing a caller could not already see. Every other
   * route authenticates in code.
   */
  anonymous?: true;
  /** false: not part of the API, so not in the OpenAPI document (the console's static files). */
  openApi?: false;
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

export type EventGridHandler = (event: unknown, context: InvocationContext) => Promise<void>;

/** An Event Grid-triggered function; its subscription is made in Bicep (infra/). */
export interface EventGridRoute {
  name: string;
  handler: EventGridHandler;
}

export const eventGridRoutes: EventGridRoute[] = [];
export const httpRoutes: HttpRoute[] = [];
export const queueRoutes: QueueRoute[] = [];
export const timerRoutes: TimerRoute[] = [];

export function defineHttp(route: HttpRoute): void {
  parseTemplate(route.route);
  httpRoutes.push(route);
  if (!insideFunctionsHost) return;
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
  if (!insideFunctionsHost) return;
  app.storageQueue(route.name, {
    queueName: route.queueName,
    connection: 'AzureWebJobsStorage',
    handler: route.handler,
  });
}

export function defineTimer(route: TimerRoute): void {
  timerRoutes.push(route);
  if (!insideFunctionsHost) return;
  app.timer(route.name, { schedule: route.schedule, handler: route.handler });
}

export function defineEventGrid(route: EventGridRoute): void {
  eventGridRoutes.push(route);
  if (!insideFunctionsHost) return;
  app.eventGrid(route.name, { handler: (event, context) => route.handler(event, context) });
}
