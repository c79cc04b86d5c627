/**
 * The route table registers with the Functions host only inside it, and is silent outside:
 * no "test mode" warnings from @azure/functions in `npm start` or in test output. Inside is
 * simulated the way the Node.js worker does it: `require('@azure/functions-core')` answers
 * (azure-functions-nodejs-worker, src/setupCoreModule.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import Module from 'node:module';

type Require = (this: unknown, id: string) => unknown;
const moduleProto = (Module as unknown as { prototype: { require: Require } }).prototype;
const originalRequire = moduleProto.require;

afterEach(() => {
  moduleProto.require = originalRequire;
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('the route table and the Functions host', () => {
  it('outside the host records every route and calls no app.* (so nothing is printed)', async () => {
    const warn = vi.spyOn(console, 'warn');
    const log = vi.spyOn(console, 'log');
    const table = await import('../../functions/route-table.js');
    await import('../../functions/index.js');
    expect(table.insideFunctionsHost).toBe(false);
    expect(table.httpRoutes.length).toBeGreaterThan(5);
    expect(table.queueRoutes.length).toBeGreaterThan(0);
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('inside the host registers every route with it', async () => {
    const registered: string[] = [];
    const coreApi = {
      version: '3.10.0',
      hostVersion: '4.0.0',
      setProgrammingModel: () => undefined,
      getProgrammingModel: () => undefined,
      registerHook: () => ({ dispose: () => undefined }),
      registerFunction: (metadata: { name: string }) => {
        registered.push(metadata.name);
        return { dispose: () => undefined };
      },
      log: () => undefined,
    };
    moduleProto.require = function (this: unknown, id: string) {
      return id === '@azure/functions-core' ? coreApi : originalRequire.call(this, id);
    };
    const table = await import('../../functions/route-table.js');
    await import('../../functions/index.js');
    expect(table.insideFunctionsHost).toBe(true);
    const names = [
      ...table.httpRoutes,
      ...table.queueRoutes,
      ...table.timerRoutes,
      ...table.eventGridRoutes,
    ].map((r) => r.name);
    expect(registered.sort()).toEqual(names.sort());
  });
});
