/**
 * Discovery in the IIS Administration API's shape, so its clients find everything by following
 * `_links` from the root, as its own test suite does (`GET /api` → `GET /api/webserver/` →
 * `_links.central_certificates.href`):
 *
 *   GET /api             the API root (IIS Administration's ApiRootController)
 *   GET /api/webserver   the web server (WebServerController): `central_certificates`, `certificates`
 *
 * Both are authenticated like every route. A trailing slash is accepted as the host ignores one.
 */
import type { z } from 'zod';
import type { ApiRootSchema, WebServerSchema } from '../openapi/discovery-schemas.js';
import { defineHttp } from '../route-table.js';
import { guarded } from './guard.js';
import { json } from './respond.js';
import { API, ccsHref } from './views.js';

/**
 * The root's template. The host puts `api/` before every template and gives an empty one the
 * function's name instead (WebScriptHostHttpRoutesManager), so `/api` itself is only reachable
 * through an optional parameter; `maxlength(0)` refuses any value, so this matches `/api` and
 * `/api/` and nothing else, whatever order the host tries the routes in.
 */
export const API_ROOT_ROUTE = '{root:maxlength(0)?}';

export function apiRootView(hostName: string, defaultCcsId: string): z.output<typeof ApiRootSchema> {
  return {
    host_name: hostName,
    default_ccs_id: defaultCcsId,
    _links: {
      self: { href: API },
      webserver: { href: `${API}/webserver` },
      certificates: { href: `${API}/certificates` },
      certificate_stores: { href: `${API}/certificates/stores` },
      ccs_ids: { href: `${API}/ccs-ids` },
      operations: { href: `${API}/operations/{id}`, templated: true },
      audit: { href: `${API}/audit` },
      openapi: { href: `${API}/openapi.json` },
    },
  };
}

export function webServerView(defaultCcsId: string): z.output<typeof WebServerSchema> {
  return {
    _links: {
      self: { href: `${API}/webserver` },
      central_certificates: { href: ccsHref(defaultCcsId) },
      certificates: { href: `${API}/certificates` },
    },
  };
}

export const getApiRoot = guarded('read', ({ app, request }) =>
  Promise.resolve(json(200, apiRootView(new URL(request.url).hostname, app.config.CCS_DEFAULT_ID))),
);

export const getWebServer = guarded('read', ({ app }) =>
  Promise.resolve(json(200, webServerView(app.config.CCS_DEFAULT_ID))),
);

defineHttp({ name: 'getApiRoot', route: API_ROOT_ROUTE, methods: ['GET'], handler: getApiRoot });
defineHttp({ name: 'getWebServer', route: 'webserver', methods: ['GET'], handler: getWebServer });
