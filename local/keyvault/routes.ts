/**
 * The Key Vault secrets REST surface: which method and path is which operation, and what each
 * does to the vault; the certificate and key routes are in ./certificate-routes.ts and
 * ./key-routes.ts and resolved here too.
 * Transport concerns (TLS, auth, faults, body limits) live in server.ts.
 * Operation names are the REST API's operation ids, which the stats are keyed by.
 */
import { certificateRoutes, type CertificateOperationId } from './certificate-routes.js';
import { keyRoutes, type KeyOperationId } from './key-routes.js';
import { ok, page } from './paging.js';
import type { Reply, Route as GenericRoute, RouteTable as GenericRouteTable } from './route-types.js';
import {
  deletedBundle,
  deletedItem,
  errorBody,
  latestBundle,
  parseSetBody,
  parseUpdateBody,
  secretBundle,
  secretItem,
  versionItem,
} from './wire.js';

export type KeyVaultOperation =
  | 'setSecret'
  | 'getSecret'
  | 'updateSecret'
  | 'getSecrets'
  | 'getSecretVersions'
  | 'deleteSecret'
  | 'getDeletedSecret'
  | 'getDeletedSecrets'
  | 'purgeDeletedSecret'
  | 'recoverDeletedSecret'
  | KeyOperationId
  | CertificateOperationId;

export type { Reply, RequestContext } from './route-types.js';
export type Route = GenericRoute<KeyVaultOperation>;
export type RouteTable = GenericRouteTable<KeyVaultOperation>;

const secretRoutes: RouteTable = {
  secrets: {
    GET: {
      operation: 'getSecrets',
      takesBody: false,
      run: (ctx) =>
        page(
          ctx.vault.list().map((s) => secretItem(ctx.base, s)),
          ctx,
          '/secrets',
        ),
    },
  },
  'secrets/{name}': {
    PUT: {
      operation: 'setSecret',
      takesBody: true,
      run: async (ctx) => {
        const { secret, version } = await ctx.vault.set(ctx.name, parseSetBody(ctx.body));
        return ok(secretBundle(ctx.base, secret, version, true));
      },
    },
    GET: {
      operation: 'getSecret',
      takesBody: false,
      run: (ctx) => {
        const { secret, version } = ctx.vault.get(ctx.name, '');
        return ok(secretBundle(ctx.base, secret, version, true));
      },
    },
    PATCH: {
      operation: 'updateSecret',
      takesBody: true,
      run: async (ctx) => {
        const { secret, version } = await ctx.vault.update(ctx.name, '', parseUpdateBody(ctx.body));
        return ok(secretBundle(ctx.base, secret, version, false));
      },
    },
    DELETE: {
      operation: 'deleteSecret',
      takesBody: false,
      run: async (ctx) => ok(deletedBundle(ctx.base, await ctx.vault.softDelete(ctx.name))),
    },
  },
  'secrets/{name}/{version}': {
    GET: {
      operation: 'getSecret',
      takesBody: false,
      run: (ctx) => {
        const { secret, version } = ctx.vault.get(ctx.name, ctx.version);
        return ok(secretBundle(ctx.base, secret, version, true));
      },
    },
    PATCH: {
      operation: 'updateSecret',
      takesBody: true,
      run: async (ctx) => {
        const { secret, version } = await ctx.vault.update(ctx.name, ctx.version, parseUpdateBody(ctx.body));
        return ok(secretBundle(ctx.base, secret, version, false));
      },
    },
  },
  'secrets/{name}/versions': {
    GET: {
      operation: 'getSecretVersions',
      takesBody: false,
      run: (ctx) => {
        const secret = ctx.vault.versions(ctx.name);
        const items = secret.versions.map((v) => versionItem(ctx.base, secret, v));
        return page(items, ctx, `/secrets/${secret.name}/versions`);
      },
    },
  },
  deletedsecrets: {
    GET: {
      operation: 'getDeletedSecrets',
      takesBody: false,
      run: (ctx) =>
        page(
          ctx.vault.listDeleted().map((s) => deletedItem(ctx.base, s)),
          ctx,
          '/deletedsecrets',
        ),
    },
  },
  'deletedsecrets/{name}': {
    GET: {
      operation: 'getDeletedSecret',
      takesBody: false,
      run: (ctx) => ok(deletedBundle(ctx.base, ctx.vault.getDeleted(ctx.name))),
    },
    DELETE: {
      operation: 'purgeDeletedSecret',
      takesBody: false,
      run: async (ctx) => {
        await ctx.vault.purge(ctx.name);
        return { status: 204 };
      },
    },
  },
  'deletedsecrets/{name}/recover': {
    POST: {
      operation: 'recoverDeletedSecret',
      takesBody: false,
      run: async (ctx) => ok(latestBundle(ctx.base, await ctx.vault.recover(ctx.name))),
    },
  },
};

const routes: RouteTable = { ...secretRoutes, ...certificateRoutes, ...keyRoutes };

/** Third path segments that name an action or sub-resource rather than a version, per collection. */
const ACTIONS: Readonly<Record<string, readonly string[]>> = {
  secrets: ['versions'],
  deletedsecrets: ['recover'],
  certificates: ['versions', 'policy', 'pending', 'import', 'create'],
  deletedcertificates: ['recover'],
  keys: ['versions', 'create'],
};
/** Collections whose `{collection}/{name}/{x}` is a version when `x` is not an action. */
const VERSIONED = new Set(['secrets', 'certificates', 'keys']);
/** Operations on one version of a key: `keys/{name}/{version}/sign` (an empty version: the newest). */
const KEY_VERSION_ACTIONS = ['sign', 'verify'];

interface Template {
  key: string;
  collection: string;
  name: string;
  version: string;
}

/** The route template for decoded path segments, with the name and version it carries. */
function template(segments: string[]): Template | undefined {
  // One trailing slash is insignificant (`getSecret(name)` asks for `/secrets/{name}/`).
  const parts = segments.at(-1) === '' && segments.length > 1 ? segments.slice(0, -1) : segments;
  const [collection = '', name = '', third, fourth] = parts.map((p, i) => (i === 0 ? p.toLowerCase() : p));
  const at = (key: string, version = ''): Template => ({ key, collection, name, version });
  if (parts.length === 1) return at(collection);
  if (parts.length === 2) return at(`${collection}/{name}`);
  if (third === undefined) return undefined;
  if (
    parts.length === 4 &&
    collection === 'keys' &&
    KEY_VERSION_ACTIONS.includes(fourth?.toLowerCase() ?? '')
  ) {
    return at(`keys/{name}/{version}/${fourth?.toLowerCase()}`, third);
  }
  if (parts.length !== 3) return undefined;
  const action = third.toLowerCase();
  if (Object.hasOwn(ACTIONS, collection) && ACTIONS[collection]?.includes(action)) {
    return at(`${collection}/{name}/${action}`);
  }
  if (VERSIONED.has(collection)) return at(`${collection}/{name}/{version}`, third);
  return undefined;
}

/** Finds the route for a request, or the 404/405 reply when there is none. */
export function resolve(
  method: string,
  segments: string[],
): { route: Route; collection: string; name: string; version: string } | Reply {
  const match = template(segments);
  // Own properties only: a path like `/constructor` must not find Object.prototype members.
  const methods = match && Object.hasOwn(routes, match.key) ? routes[match.key] : undefined;
  if (!match || !methods) {
    return { status: 404, body: errorBody('NotFound', 'The requested resource does not exist.') };
  }
  const route = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (!route) {
    return {
      status: 405,
      body: errorBody('MethodNotAllowed', `The method ${method} is not allowed here.`),
      headers: { allow: Object.keys(methods).join(', ') },
    };
  }
  return { route, collection: match.collection, name: match.name, version: match.version };
}
