/**
 * The local host routes as the Functions host does (functions/route-template.ts): ASP.NET Core
 * route templates under host.json's prefix, one trailing slash ignored, optional parameters and
 * their constraints; and syntax we do not reproduce is refused when a route is defined.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  documentedPath,
  matchRoute,
  parseTemplate,
  ROUTE_PREFIX,
  routePath,
} from '../../functions/route-template.js';
import { API_ROOT_ROUTE } from '../../functions/http/discovery.js';
import { parseConfig } from '../../shared/config.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('the path a request addresses', () => {
  it('uses the route prefix of host.json', () => {
    const host = JSON.parse(readFileSync(join(ROOT, 'host.json'), 'utf8')) as {
      extensions: { http: { routePrefix: string } };
    };
    expect(host.extensions.http.routePrefix).toBe(ROUTE_PREFIX);
  });

  it('ignores one trailing slash, as ASP.NET Core routing does, and not two', () => {
    expect(routePath('/api/webserver/')).toBe('webserver');
    expect(routePath('/api/webserver')).toBe('webserver');
    expect(routePath('/api/webserver//')).toBe('webserver/');
    expect(matchRoute('webserver', routePath('/api/webserver//')!)).toBeNull();
  });

  it('makes /api and /api/ the root, case-insensitively, and nothing outside the prefix', () => {
    expect(routePath('/api')).toBe('');
    expect(routePath('/api/')).toBe('');
    expect(matchRoute(API_ROOT_ROUTE, routePath('/api//')!)).toBeNull();
    expect(routePath('/API/WebServer')).toBe('WebServer');
    expect(routePath('/apiary')).toBeNull();
    expect(routePath('/')).toBeNull();
  });
});

describe('route templates', () => {
  it('matches the API root only with no segment at all', () => {
    expect(matchRoute(API_ROOT_ROUTE, '')).toEqual({});
    expect(matchRoute(API_ROOT_ROUTE, 'audit')).toBeNull();
    expect(matchRoute(API_ROOT_ROUTE, 'webserver/centralized-certificates')).toBeNull();
  });

  it('lets an optional parameter be missing or empty, and checks its constraints when present', () => {
    expect(matchRoute('items/{id:maxlength(3)?}', 'items')).toEqual({});
    expect(matchRoute('items/{id:maxlength(3)?}', 'items/')).toEqual({});
    expect(matchRoute('items/{id:maxlength(3)?}', 'items/abc')).toEqual({ id: 'abc' });
    expect(matchRoute('items/{id:maxlength(3)?}', 'items/abcd')).toBeNull();
    expect(matchRoute('items/{id:minlength(2)}', 'items/a')).toBeNull();
  });

  it('keeps required parameters required and literals exact but case-insensitive', () => {
    expect(matchRoute('webserver/centralized-certificates', 'WebServer/Centralized-Certificates')).toEqual(
      {},
    );
    expect(
      matchRoute('webserver/centralized-certificates/{ccsId}', 'webserver/centralized-certificates'),
    ).toBeNull();
    expect(matchRoute('webserver', 'webserver/x')).toBeNull();
  });

  it('refuses syntax it would not route as Azure does', () => {
    expect(() => parseTemplate('a/{*rest}/b')).toThrow(/must be at the end/);
    expect(() => parseTemplate('a/{id:int}')).toThrow(/unsupported segment/);
    expect(() => parseTemplate('a/{id:regex(0)}')).toThrow(/unsupported constraint/);
    expect(() => parseTemplate('a/{id?}/b')).toThrow(/optional parameter must be at the end/);
    expect(() => parseTemplate('a/x{id}')).toThrow(/unsupported segment/);
  });

  it('gives a last catch-all segment the rest of the path, slashes included, empty or not', () => {
    expect(matchRoute('console/{*path}', 'console/assets/index.js')).toEqual({ path: 'assets/index.js' });
    expect(matchRoute('console/{*path}', 'console')).toEqual({ path: '' });
    expect(matchRoute('console/{*path}', 'other/x')).toBeNull();
    expect(matchRoute('console/{*path}', 'console/%E0%A4%A')).toBeNull();
  });

  it('documents a template without its optional segments and constraints', () => {
    expect(documentedPath(API_ROOT_ROUTE)).toBe('/api');
    expect(documentedPath('operations/{id:minlength(1)}')).toBe('/api/operations/{id}');
    expect(documentedPath('webserver')).toBe('/api/webserver');
  });
});

describe('CCS_DEFAULT_ID', () => {
  const base = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    CCS_KEY_VAULT_URL: 'https://kv.vault.azure.net',
    CCS_ALLOWED_LOCATIONS: '[]',
  };

  it('is `default` when unset or blank, and any valid ccs-id otherwise', () => {
    expect(parseConfig(base).CCS_DEFAULT_ID).toBe('default');
    expect(parseConfig({ ...base, CCS_DEFAULT_ID: '  ' }).CCS_DEFAULT_ID).toBe('default');
    expect(parseConfig({ ...base, CCS_DEFAULT_ID: 'web-farm-1' }).CCS_DEFAULT_ID).toBe('web-farm-1');
  });

  it('refuses what is not a ccs-id, naming the setting', () => {
    expect(() => parseConfig({ ...base, CCS_DEFAULT_ID: 'Web--Farm' })).toThrow(/CCS_DEFAULT_ID/);
  });
});
