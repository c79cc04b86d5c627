/**
 * A local, Azure Key Vault–compatible secrets, keys and certificates endpoint that the real
 * `@azure/keyvault-secrets` SecretClient, `@azure/keyvault-keys` KeyClient/CryptographyClient and
 * `@azure/keyvault-certificates` CertificateClient talk to over HTTPS. This file is the
 * transport: TLS, the bearer challenge, token checks, the role check (rbac.ts), injected faults,
 * per-operation counts, body limits, and a guarantee that no input crashes the process. The REST
 * surface is in routes.ts, the state in vault.ts. Nothing here logs: request bodies carry secret
 * values.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ensureSelfSignedCertificate } from './certificate.js';
import { CertificateVault } from './certificate-vault.js';
import { VaultKeys } from './key-vault.js';
import { keyBundle, parseCreateKeyBody } from './key-wire.js';
import {
  ADMINISTRATOR,
  dataActionOf,
  forbiddenByRbac,
  isAllowed,
  requestScope,
  type VaultPrincipal,
} from './rbac.js';
import { resolve, type Reply } from './routes.js';
import { VaultThrottle, type ThrottleOptions } from './throttle.js';
import { Vault, VaultError } from './vault.js';
import { errorBody } from './wire.js';

export type { KeyVaultOperation } from './routes.js';
export type { RoleAssignment, VaultPrincipal } from './rbac.js';

export interface KeyVaultServerOptions {
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  host?: '127.0.0.1';
  /** JSON persistence (mode 0600); in memory when absent. */
  dataFile?: string;
  /** Where the self-signed certificate is kept (generated on first use). */
  certDir: string;
  /** Bearer tokens with every data-plane right (Key Vault Administrator on the vault). */
  acceptedTokens?: string[];
  /** Callers with their own role assignments (rbac.ts): an agent that may read but not sign. */
  principals?: VaultPrincipal[];
  /** The tenant named in the challenge's authorization URL. */
  tenantId?: string;
  /** Enforce Key Vault's documented per-vault rate limits (./throttle.ts); off when absent. */
  throttle?: ThrottleOptions;
}

export interface KeyVaultFault {
  status: 429 | 503;
  /** Sent as `Retry-After`; a 429 always carries one (0 when omitted), a 503 only when set. */
  retryAfterSeconds?: number;
  /** How many authenticated requests get this answer. */
  times: number;
  /**
   * Only requests of this operation (`setSecret`, `getSecret`, `sign`… as routes.ts names them)
   * get it; other requests pass. A test hook: in a stack with timers and agents, a fault meant
   * for one call must not be spent on a background request that came first.
   */
  operation?: string;
}

/** A key as a deployment creates it (Bicep `Microsoft.KeyVault/vaults/keys`), not a data-plane call. */
export interface KeyDeployment {
  name: string;
  kty: 'EC' | 'RSA';
  crv?: 'P-256' | 'P-384' | 'P-521';
  keySize?: 2048 | 3072 | 4096;
  keyOps?: string[];
}

export interface LocalKeyVault {
  /** `https://127.0.0.1:PORT` (covered by the certificate's IP SAN), no trailing slash. */
  url: string;
  /** PEM of the self-signed certificate, for `tlsOptions.ca`. */
  caCertPath: string;
  /**
   * Authenticated requests per operation (faulted ones included), plus `challenged` (no token:
   * the SDK's first, body-less probe), `rejected` (a token that is not accepted), `forbidden`
   * (a caller whose roles do not allow the operation) and `throttled` (refused over the limits).
   */
  stats(): Record<string, number>;
  resetStats(): void;
  /** Queues a fault; faults are served in the order they were injected. */
  injectFaults(fault: KeyVaultFault): void;
  /**
   * Creates a key if the vault has none of that name, as a deployment would (the management
   * plane: no token, no role check); returns its newest version's `kid`.
   */
  deployKey(key: KeyDeployment): Promise<{ kid: string; version: string }>;
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TENANT = '00000000-0000-0000-0000-000000000000';

export async function startKeyVaultServer(options: KeyVaultServerOptions): Promise<LocalKeyVault> {
  const principals: VaultPrincipal[] = [
    ...(options.acceptedTokens ?? []).map((token, i) => ({
      name: `administrator-${i + 1}`,
      token,
      roles: ADMINISTRATOR,
    })),
    ...(options.principals ?? []),
  ];
  if (principals.length === 0 || principals.some((p) => p.token === '')) {
    throw new Error('startKeyVaultServer needs at least one non-empty accepted token');
  }
  const host = options.host ?? '127.0.0.1';
  const { keyPath, certPath } = await ensureSelfSignedCertificate(options.certDir);
  const [key, cert] = await Promise.all([readFile(keyPath), readFile(certPath)]);
  const vault = await Vault.open(options.dataFile);
  const certificates = new CertificateVault(vault);
  const keys = new VaultKeys(vault);
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${options.tenantId ?? DEFAULT_TENANT}", resource="https://vault.azure.net"`;
  const callers = principals.map((p) => ({ principal: p, digest: sha256(p.token) }));
  const counts = new Map<string, number>();
  const faults: { status: 429 | 503; retryAfterSeconds?: number; remaining: number; operation?: string }[] =
    [];
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const throttle = options.throttle ? new VaultThrottle(options.throttle) : undefined;
  let base = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = authenticate(req.headers.authorization, callers);
    if (typeof auth === 'string') {
      // Answered before the body is read; Node discards the unread body itself.
      count(auth);
      const message =
        auth === 'challenged'
          ? 'AKV10000: Request is missing a Bearer or PoP token.'
          : 'AKV10022: The bearer token is not accepted by this vault.';
      return send(res, {
        status: 401,
        body: errorBody('Unauthorized', message),
        headers: { 'www-authenticate': challenge },
      });
    }
    const target = parseTarget(req.url ?? '');
    if (target instanceof VaultError) return send(res, failure(target));
    const found = resolve(req.method ?? '', target.segments);
    if ('route' in found) {
      count(found.route.operation);
      const action = dataActionOf(found.route.operation);
      const scope = requestScope(found.collection, found.name);
      if (!isAllowed(auth.roles, action, scope)) {
        count('forbidden');
        return send(res, failure(forbiddenByRbac(auth.name, action, scope)));
      }
    }

    const operation = 'route' in found ? found.route.operation : undefined;
    const at = faults.findIndex((f) => f.operation === undefined || f.operation === operation);
    const fault = at >= 0 ? faults[at] : undefined;
    if (fault) {
      if (--fault.remaining <= 0) faults.splice(at, 1);
      return send(res, faultReply(fault.status, fault.retryAfterSeconds));
    }
    if (!('route' in found)) return send(res, found);
    const verdict = throttle?.admit(found.route.operation);
    if (verdict && !verdict.allowed) {
      count('throttled');
      return send(res, faultReply(429, verdict.retryAfterSeconds));
    }
    if (!target.query.get('api-version')) {
      return send(res, badRequest('The request URI contains an invalid or missing api-version.'));
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === 'too-large') {
      // Close the connection: the rest of an oversized body is not worth reading.
      const tooLarge = new VaultError(
        413,
        'RequestTooLarge',
        `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
      );
      send(res, failure(tooLarge), { connection: 'close' });
      res.once('finish', () => req.destroy());
      return;
    }
    let body: unknown;
    if (found.route.takesBody) {
      try {
        body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
      } catch {
        return send(res, badRequest('The request body is not valid JSON.'));
      }
    }
    const reply = await found.route.run({
      vault,
      certificates,
      keys,
      base,
      name: found.name,
      version: found.version,
      query: target.query,
      body,
    });
    send(res, reply);
  }

  const server: Server = createServer({ key, cert }, (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    handle(req, res).catch((error: unknown) => {
      const reply =
        error instanceof VaultError
          ? failure(error)
          : {
              status: 500,
              body: errorBody('InternalError', 'The local Key Vault failed to process the request.'),
            };
      send(res, reply);
    });
  });
  // Idle kept-alive connections stay open for minutes, as behind Azure's front ends (Azure Load
  // Balancer's default idle timeout is 4 minutes), not Node's 5 s: a throttled fleet waits its
  // Retry-After (up to 10 s) on idle sockets, and a server closing them as the retries go out
  // turned a 429 into ECONNRESET on every pooled socket at once (seen at 1,000 hosts).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  // A broken client (bad TLS, malformed HTTP) loses its connection, never the process.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('tlsClientError', (_error, socket) => socket.destroy());

  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', fail);
      ready();
    });
  });
  // Later server-level errors (e.g. accept failures) must not crash the process either.
  server.on('error', () => undefined);
  base = `https://${host}:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    caCertPath: certPath,
    stats: () => Object.fromEntries(counts),
    resetStats: () => counts.clear(),
    injectFaults: (fault) => {
      if (!Number.isInteger(fault.times) || fault.times < 1)
        throw new Error('fault.times must be a positive integer');
      faults.push({
        status: fault.status,
        retryAfterSeconds: fault.retryAfterSeconds,
        remaining: fault.times,
        ...(fault.operation ? { operation: fault.operation } : {}),
      });
    },
    deployKey: async (deployment) => {
      let current;
      try {
        current = keys.get(deployment.name, '');
      } catch (error) {
        if (!(error instanceof VaultError) || error.status !== 404) throw error;
        const { name, kty, crv, keySize, keyOps } = deployment;
        current = await keys.create(
          name,
          parseCreateKeyBody({ kty, crv, key_size: keySize, key_ops: keyOps }),
        );
      }
      return { kid: keyBundle(base, current.key, current.version).key.kid, version: current.version.version };
    },
    close: async () => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      // The SDK keeps connections alive; without this, close() would wait for them to idle out.
      server.closeAllConnections();
      await closed;
      await vault.flush();
    },
  };
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

function authenticate(
  header: string | undefined,
  callers: { principal: VaultPrincipal; digest: Buffer }[],
): VaultPrincipal | 'challenged' | 'rejected' {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return 'challenged';
  // Compare digests in constant time, so response timing does not reveal a token's prefix.
  const presented = sha256(match[1]);
  return callers.find((c) => timingSafeEqual(c.digest, presented))?.principal ?? 'rejected';
}

/** Splits `/secrets/x/?api%2Dversion=7.6` into decoded segments and a decoded query. */
function parseTarget(url: string): { segments: string[]; query: Map<string, string> } | VaultError {
  const [path = '', search = ''] = url.split('?', 2);
  try {
    if (!path.startsWith('/')) throw new URIError('not an origin-form path');
    const segments = path.slice(1).split('/').map(decodeURIComponent);
    const query = new Map<string, string>();
    for (const pair of search.split('&')) {
      if (pair === '') continue;
      const [k = '', v = ''] = pair.split('=', 2);
      query.set(decodeURIComponent(k.replace(/\+/g, ' ')), decodeURIComponent(v.replace(/\+/g, ' ')));
    }
    return { segments, query };
  } catch {
    return new VaultError(400, 'BadParameter', 'The request URI is malformed.');
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve('too-large');
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too-large' | Error) => {
      req.off('data', onData);
      if (result instanceof Error) fail(result);
      else done(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish('too-large');
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish(Buffer.concat(chunks)));
    req.once('error', (error) => finish(error));
    req.once('close', () => finish(new Error('request closed before its body ended')));
  });
}

function failure(error: VaultError): Reply {
  return { status: error.status, body: errorBody(error.code, error.message, error.innerCode) };
}

const badRequest = (message: string): Reply => failure(new VaultError(400, 'BadParameter', message));

function faultReply(status: 429 | 503, retryAfterSeconds: number | undefined): Reply {
  const retryAfter = status === 429 ? (retryAfterSeconds ?? 0) : retryAfterSeconds;
  const body =
    status === 429
      ? errorBody('Throttled', 'Request was not processed because too many requests were received.')
      : errorBody('ServiceUnavailable', 'The service is temporarily unavailable.');
  return { status, body, headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) } };
}

function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...(payload && { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(payload),
    'x-ms-request-id': randomUUID(),
    ...reply.headers,
    ...extraHeaders,
  });
  res.end(payload);
}
