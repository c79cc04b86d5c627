/**
 * The OpenAPI document the API serves: a standard linter (Redocly CLI, its recommended rules,
 * no configuration and no ignore file) finds nothing wrong with it, and it describes exactly the
 * routes that exist. That every response matches it is checked on every response the
 * integration and end-to-end tests receive (test/support/openapi-validator.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes } from '../../functions/index.js';
import { documentedPath } from '../../functions/route-table.js';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { ResponseValidator } from '../support/openapi-validator.js';

const ROOT = resolve(import.meta.dirname, '../..');
const REDOCLY = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');

interface Served {
  paths: Record<string, Record<string, { operationId: string; summary?: string }>>;
}

let api: ApiHarness;
let served: Served;
let dir: string;

beforeAll(async () => {
  api = await startApiHarness();
  const res = await api.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  served = (await res.json()) as Served;
  dir = mkdtempSync(join(tmpdir(), 'ccs-openapi-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await api?.close();
});

/** `redocly lint` on a document, in an empty folder (no config, no ignore file applies). */
async function lint(
  document: unknown,
): Promise<{ problems: { ruleId: string; severity: string; message: string }[] }> {
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  const run = await promisify(execFile)(
    process.execPath,
    [REDOCLY, 'lint', file, '--extends', 'recommended', '--format', 'json'],
    { cwd: dir, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { problems: [] };
}

describe('the served OpenAPI document', () => {
  it('passes redocly lint with the recommended rules: no error, no warning', async () => {
    const { problems } = await lint(served);
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`)).toEqual([]);
  }, 30_000);

  it('is linted for real: a broken reference and a missing summary are found', async () => {
    const broken = structuredClone(served);
    const get = broken.paths['/api/operations/{id}']!.get as unknown as Record<string, unknown>;
    delete get.summary;
    (get.responses as Record<string, unknown>)['200'] = {
      description: 'x',
      content: { 'application/json': { schema: { $ref: '#/$defs/Nowhere' } } },
    };
    const rules = (await lint(broken)).problems.map((p) => p.ruleId);
    expect(rules).toEqual(expect.arrayContaining(['no-unresolved-refs', 'operation-summary']));
  }, 30_000);

  it('applies with no ignore file or Redocly configuration in the project', () => {
    expect(readdirSync(ROOT).filter((f) => /redocly|lint-ignore/i.test(f))).toEqual([]);
    expect(existsSync(join(ROOT, '.redocly.lint-ignore.yaml'))).toBe(false);
  });

  it('describes exactly the routes that exist, method by method, each with its own operation id', () => {
    const documented = Object.entries(served.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    // The console's static files are not part of the API (route `openApi: false`).
    const routed = httpRoutes
      .filter((r) => r.openApi !== false)
      .flatMap((r) => r.methods.map((m) => `${m} ${documentedPath(r.route)}`));
    expect(documented.sort()).toEqual(routed.sort());
    const ids = Object.values(served.paths).flatMap((methods) =>
      Object.values(methods).map((o) => o.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('checks responses: an undocumented field or status is refused', () => {
    const validator = ResponseValidator.get();
    const url = '/api/operations/00000000-0000-4000-8000-000000000000';
    const error = { title: 'Not found', name: 'id', detail: 'Operation not found', status: 404 };
    expect(() => validator.check('GET', url, 404, JSON.stringify(error))).not.toThrow();
    expect(() => validator.check('GET', url, 404, JSON.stringify({ ...error, extra: 1 }))).toThrow(
      /extra|additional/,
    );
    expect(() => validator.check('GET', url, 418, '{}')).toThrow(/not in the OpenAPI document/);
  });
});
