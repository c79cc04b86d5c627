/**
 * Start-up (functions/startup.ts → startApp): the configuration is parsed before the first
 * invocation; a bad setting is logged once, by name and never by value, and every request then
 * answers 503 naming "configuration" while the timers stand still. Handlers are invoked as the
 * Functions host invokes them, with the library's own HttpRequest and InvocationContext.
 */
import functions from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRoutes, timerRoutes } from '../../functions/index.js';
import { setAppContext, startApp } from '../../functions/app-context.js';
import { inInvocation, invocationLogger } from '../../functions/invocation-log.js';
import { jsonLineLogger } from '../../shared/log.js';

const { HttpRequest, InvocationContext } = functions;

const CANARY = 'canary-7d1f-not-json';
const VALID = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  CCS_KEY_VAULT_URL: 'https://vault.example',
  CCS_ALLOWED_LOCATIONS: '[]',
};

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: jsonLineLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>)) };
}

/** Invoke a route's handler as the host would; the invocation's own log lines are collected. */
async function invoke(name: string, params: Record<string, string> = {}) {
  const route = httpRoutes.find((r) => r.name === name)!;
  const logged: unknown[][] = [];
  const context = new InvocationContext({
    functionName: name,
    logHandler: (_level, ...args) => logged.push(args),
  });
  const request = new HttpRequest({
    method: route.methods[0]!,
    url: `http://localhost/api/${route.route}`,
    params,
  });
  const response = await route.handler(request, context);
  return { response, logged };
}

afterEach(() => setAppContext(undefined));

describe('a bad setting at start', () => {
  it('is logged once, by name, and every request answers 503 naming configuration', async () => {
    const start = capture();
    expect(startApp({ ...VALID, CCS_API_KEYS: CANARY }, start.log)).toBe(false);
    for (const [name, params] of [
      ['getCentralizedCertificates', { ccsId: 'farm' }],
      ['listCertificates', {}],
      ['getOperation', { id: '00000000-0000-4000-8000-000000000000' }],
    ] as const) {
      const { response, logged } = await invoke(name, params);
      expect(response).toMatchObject({
        status: 503,
        jsonBody: { name: 'configuration', status: 503 },
        headers: { 'x-ms-error-code': 'ConfigurationInvalid', 'Retry-After': '5' },
      });
      expect(logged).toEqual([]);
    }
    for (const timer of timerRoutes) {
      await timer.handler({}, new InvocationContext({ functionName: timer.name }));
    }
    expect(start.lines).toHaveLength(1);
    expect(start.lines[0]).toMatchObject({ level: 'error', setting: 'CCS_API_KEYS' });
    expect(JSON.stringify(start.lines)).not.toContain(CANARY);
  });

  it('names a setting the authenticator refuses as well (a tenant that is not a GUID)', () => {
    const start = capture();
    const env = { ...VALID, CCS_ENTRA_TENANT_ID: 'contoso', CCS_ENTRA_AUDIENCE: 'api://ccs' };
    expect(startApp(env, start.log)).toBe(false);
    expect(start.lines).toEqual([expect.objectContaining({ setting: 'CCS_ENTRA_TENANT_ID' })]);
  });

  it('starts the services when the settings are valid: a request gets past configuration', async () => {
    const start = capture();
    expect(startApp(VALID, start.log)).toBe(true);
    const { response } = await invoke('getCentralizedCertificates', { ccsId: 'farm' });
    expect(response).toMatchObject({ status: 401 });
    expect(start.lines).toEqual([]);
  });
});

describe('logs of an invocation', () => {
  it("go through the invocation's context.log as one JSON object each, with its fields", async () => {
    const fallback = capture();
    const log = invocationLogger(fallback.log);
    const logged: [string, string][] = [];
    const context = new InvocationContext({
      functionName: 'f',
      logHandler: (level, ...args) => logged.push([level, args.map(String).join(' ')]),
    });
    await inInvocation(context, { ccsId: 'farm' }, async () => {
      await Promise.resolve();
      log.warn('operation transition', { operationId: 'op-1' });
    });
    log.info('outside');
    expect(logged).toEqual([
      ['warning', '{"msg":"operation transition","ccsId":"farm","operationId":"op-1"}'],
    ]);
    expect(fallback.lines).toEqual([expect.objectContaining({ msg: 'outside', level: 'info' })]);
  });
});
