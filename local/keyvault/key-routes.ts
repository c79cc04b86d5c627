/**
 * The Key Vault keys REST surface (paths and operation ids of the REST API 2025-07-01, which
 * @azure/keyvault-keys 4.10.2 calls from `api/operations.js`; the CryptographyClient's `sign` and
 * `verify` are `POST /keys/{name}/{version}/sign|verify`): what each method and path does to the
 * vault's keys. Resolved by ./routes.ts with the secret and certificate routes, so the challenge
 * flow, role checks, api-version check, faults, body limits and error bodies are the same.
 */
import {
  keyBundle,
  keyItem,
  keyVersionItem,
  operationResult,
  parseCreateKeyBody,
  parseSignBody,
  parseUpdateKeyBody,
  parseVerifyBody,
} from './key-wire.js';
import { ok, page } from './paging.js';
import type { RequestContext, RouteTable } from './route-types.js';

export type KeyOperationId =
  'createKey' | 'getKey' | 'getKeys' | 'getKeyVersions' | 'updateKey' | 'sign' | 'verify';

const getKey = {
  operation: 'getKey',
  takesBody: false,
  run: (ctx: RequestContext) => {
    const { key, version } = ctx.keys.get(ctx.name, ctx.version);
    return ok(keyBundle(ctx.base, key, version));
  },
} as const;

const updateKey = {
  operation: 'updateKey',
  takesBody: true,
  run: async (ctx: RequestContext) => {
    const { key, version } = await ctx.keys.update(ctx.name, ctx.version, parseUpdateKeyBody(ctx.body));
    return ok(keyBundle(ctx.base, key, version));
  },
} as const;

export const keyRoutes: RouteTable<KeyOperationId> = {
  keys: {
    GET: {
      operation: 'getKeys',
      takesBody: false,
      run: (ctx) =>
        page(
          ctx.keys.list().map((k) => keyItem(ctx.base, k)),
          ctx,
          '/keys',
        ),
    },
  },
  // `getKey(name)` asks for `/keys/{name}/` (an empty version): the newest version.
  'keys/{name}': { GET: getKey, PATCH: updateKey },
  'keys/{name}/{version}': { GET: getKey, PATCH: updateKey },
  'keys/{name}/create': {
    POST: {
      operation: 'createKey',
      takesBody: true,
      run: async (ctx) => {
        const { key, version } = await ctx.keys.create(ctx.name, parseCreateKeyBody(ctx.body));
        return ok(keyBundle(ctx.base, key, version));
      },
    },
  },
  'keys/{name}/versions': {
    GET: {
      operation: 'getKeyVersions',
      takesBody: false,
      run: (ctx) => {
        const key = ctx.keys.versions(ctx.name);
        const items = key.versions.map((v) => keyVersionItem(ctx.base, key, v));
        return page(items, ctx, `/keys/${key.name}/versions`);
      },
    },
  },
  'keys/{name}/{version}/sign': {
    POST: {
      operation: 'sign',
      takesBody: true,
      run: (ctx) => {
        const { alg, digest } = parseSignBody(ctx.body);
        const { key, version, signature } = ctx.keys.sign(ctx.name, ctx.version, alg, digest);
        return ok(operationResult(ctx.base, key, version, signature));
      },
    },
  },
  'keys/{name}/{version}/verify': {
    POST: {
      operation: 'verify',
      takesBody: true,
      run: (ctx) => {
        const { alg, digest, signature } = parseVerifyBody(ctx.body);
        return ok({ value: ctx.keys.verify(ctx.name, ctx.version, alg, digest, signature) });
      },
    },
  },
};
