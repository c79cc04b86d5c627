/**
 * fast-check arbitraries for hostile HTTP requests against the API, each with the answer it must
 * get: the status and the `name` (field) the error body must carry. Every request built by
 * `rejectedRequest` carries exactly one defect, so the expected answer is known in advance and
 * the request must change nothing.
 */
import fc from 'fast-check';
import { PATH_ATTACKS } from '../../fixtures/path-attacks.js';
import { MAX_BODY_BYTES } from '../../../functions/http/request-body.js';

export interface HostileRequest {
  /** What the case exercises, for failure messages and tallies. */
  kind: string;
  method: string;
  /** Relative to `/api`, already encoded. */
  path: string;
  headers: Record<string, string>;
  /** `undefined`: no body. A string is sent as UTF-8; bytes as they are. */
  body?: string | Uint8Array;
  /** Which credentials to present: a role's valid token, or none (headers carry any other). */
  auth: 'write' | 'read' | 'none';
}

export interface Expected {
  status: number;
  name: string;
}

export interface RejectedCase {
  request: HostileRequest;
  expect: Expected;
}

export const SEED_404_NAME = 'IIS Central Certificate Store';
const RESOURCE = '/webserver/centralized-certificates';

/** The ids the rejected-request property works on (set up by the test). */
export interface FuzzIds {
  /** Enabled, generation 1: PATCH/DELETE/POST(409) target. */
  enabled: string;
  /** Never enabled: every POST to it is rejected. */
  fresh: string;
}

export const VALID_USERNAME = 'CONTOSO\\svc-ccs';
export const VALID_PATH = '\\\\fileserver\\ccs';
export const VALID_PASSWORD = 'fuzz-Pa55word';

const TOP_LEVEL_ENABLE = new Set(['path', 'identity', 'private_key_password']);
const TOP_LEVEL_UPDATE = new Set([
  ...TOP_LEVEL_ENABLE,
  'id',
  'status',
  'generation',
  'hosts',
  'operation',
  '_links',
]);
const IDENTITY = new Set(['username', 'password']);

/** Sets an own, enumerable property even for `__proto__`. */
function put(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
  return target;
}

const nonString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
);
const nonObject = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 2 }),
);

const word = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);

/** Usernames the schema must refuse. */
const badUsername = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 257, maxLength: 300 }).map((s) => `D\\${s.replace(/[\\"/[\]:;|=,+*?<>]/g, 'x')}`),
  fc
    .tuple(
      word,
      fc.constantFrom(
        '\u0000',
        '\t',
        '\n',
        '\u007f',
        '\u0085',
        '\u200b',
        '\u202e',
        '\u2066',
        '\ufeff',
        '\u00ad',
        '\u2028',
        '\ud800',
        '\udfff',
        '"',
        '/',
        '[',
        ']',
        ':',
        ';',
        '|',
        '=',
        ',',
        '+',
        '*',
        '?',
        '<',
        '>',
      ),
      word,
    )
    .map(([a, c, b]) => `CONTOSO\\${a}${c}${b}`),
  fc.constantFrom('a\\b\\c', '\\user', 'DOMAIN\\', '   ', 'D\\ ', '\\'),
);

/** Passwords (identity and private key) the schema must refuse; `empty` only for the identity. */
const badPassword = (allowEmpty: boolean) =>
  fc.oneof(
    ...(allowEmpty ? [] : [fc.constant('')]),
    fc.string({ minLength: 513, maxLength: 600 }),
    fc.tuple(word, word).map(([a, b]) => `${a}\u0000${b}`),
    fc
      .tuple(word, fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'), word)
      .map(([a, s, b]) => a + s + b),
  );

const pathAttack = fc.constantFrom(...PATH_ATTACKS);

/** A member name that is not in `known` (may be anything JSON can carry, `__proto__` included). */
const unknownKey = (known: Set<string>) =>
  fc
    .oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.string({ minLength: 65, maxLength: 200 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'Path', 'PATH', 'path ', 'identity.password'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
    )
    .filter((k) => !known.has(k));

const validEnableBody = (): Record<string, unknown> => ({
  path: VALID_PATH,
  identity: { username: VALID_USERNAME, password: VALID_PASSWORD },
  private_key_password: 'fuzz-key',
});

/** One defect in an otherwise valid body: the mutated body and the field it must name. */
type BodyDefect = { body: unknown; status: number; name: string; kind: string };

function bodyDefects(mode: 'enable' | 'update', ids: FuzzIds): fc.Arbitrary<BodyDefect> {
  const base = (): Record<string, unknown> =>
    mode === 'enable' ? validEnableBody() : { path: 'C:\\certs\\fuzz-patched' };
  const withIdentity = (identity: Record<string, unknown>) => {
    const body = base();
    body.identity = identity;
    return body;
  };
  const defects: fc.Arbitrary<BodyDefect>[] = [
    pathAttack.map((a) => {
      const body = base();
      body.path = a.input;
      const status = a.expect === 'invalid' ? 400 : 403;
      return { body, status, name: 'path', kind: `path-${a.expect}` };
    }),
    nonString.map((v) => ({ body: put(base(), 'path', v), status: 400, name: 'path', kind: 'path-type' })),
    nonObject.map((v) => ({
      body: put(base(), 'identity', v),
      status: 400,
      name: 'identity',
      kind: 'identity-type',
    })),
    badUsername.map((u) => ({
      body: withIdentity({ username: u, password: VALID_PASSWORD }),
      status: 400,
      name: 'identity.username',
      kind: 'username',
    })),
    nonString.map((u) => ({
      body: withIdentity({ username: u, password: VALID_PASSWORD }),
      status: 400,
      name: 'identity.username',
      kind: 'username-type',
    })),
    badPassword(false).map((p) => ({
      body: withIdentity({ username: VALID_USERNAME, password: p }),
      status: 400,
      name: 'identity.password',
      kind: 'password',
    })),
    nonString.map((p) => ({
      body: withIdentity({ username: VALID_USERNAME, password: p }),
      status: 400,
      name: 'identity.password',
      kind: 'password-type',
    })),
    badPassword(true).map((p) => ({
      body: put(base(), 'private_key_password', p),
      status: 400,
      name: 'private_key_password',
      kind: 'private-key-password',
    })),
    nonString.map((p) => ({
      body: put(base(), 'private_key_password', p),
      status: 400,
      name: 'private_key_password',
      kind: 'private-key-password-type',
    })),
    fc
      .tuple(
        unknownKey(mode === 'enable' ? TOP_LEVEL_ENABLE : TOP_LEVEL_UPDATE),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([k, v]) => ({
        body: put(base(), k, v),
        status: 400,
        name: k.slice(0, 64),
        kind: 'unknown-field',
      })),
    fc.tuple(unknownKey(IDENTITY), fc.jsonValue({ maxDepth: 1 })).map(([k, v]) => ({
      body: withIdentity(put({ username: VALID_USERNAME, password: VALID_PASSWORD }, k, v)),
      status: 400,
      name: `identity.${k}`.slice(0, 64),
      kind: 'unknown-identity-field',
    })),
  ];
  if (mode === 'enable') {
    defects.push(
      fc.constantFrom('path', 'identity').map((k) => {
        const body = base();
        delete body[k];
        return { body, status: 400, name: k, kind: `missing-${k}` };
      }),
      fc.constantFrom('username', 'password').map((k) => {
        const identity: Record<string, unknown> = { username: VALID_USERNAME, password: VALID_PASSWORD };
        delete identity[k];
        return { body: withIdentity(identity), status: 400, name: `identity.${k}`, kind: `missing-${k}` };
      }),
    );
  } else {
    defects.push(
      fc
        .oneof(
          word.filter((w) => w !== ids.enabled),
          nonString,
        )
        .map((v) => ({ body: put(base(), 'id', v), status: 400, name: 'id', kind: 'id-mismatch' })),
    );
  }
  return fc.oneof(...defects);
}

/** Encodes one path segment the way a client would (a `.`/`..` segment would be resolved away). */
const segment = (value: string): string => encodeURIComponent(value);

/** Survives as one URL path segment: encodable (no lone surrogate) and not a dot segment. */
const isSegment = (value: string): boolean => {
  try {
    encodeURIComponent(value);
  } catch {
    return false;
  }
  return value !== '' && value !== '.' && value !== '..';
};

/** Strings that are not ccs-ids (and survive URL normalisation as one segment). */
export const badCcsId = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
    fc.constantFrom(
      'A',
      'ab--cd',
      '-ab',
      'ab-',
      'a'.repeat(33),
      'ab_cd',
      'ab.cd',
      'ab cd',
      '%2e%2e',
      'café',
      'ａｂ',
    ),
  )
  .filter((s) => !/^[a-z0-9](?:[a-z0-9]|-(?!-)){0,30}[a-z0-9]$|^[a-z0-9]$/.test(s) && isSegment(s));

const json = (value: unknown): string => JSON.stringify(value);

/** A valid JSON text with a duplicated member name, and that name's dotted path. */
const duplicateKeyBody = fc.oneof(
  fc.constantFrom('path', 'identity', 'private_key_password').map((k) => {
    const body = validEnableBody();
    const text = json(body);
    const value = json(body[k]);
    return { text: `{${json(k)}:${value},${text.slice(1)}`, name: k };
  }),
  fc.constantFrom('username', 'password').map((k) => {
    const body = validEnableBody();
    const identity = body.identity as Record<string, string>;
    const inner = json(identity);
    const dup = `{${json(k)}:${json(identity[k])},${inner.slice(1)}`;
    return { text: json(body).replace(inner, dup), name: `identity.${k}` };
  }),
  // The same name spelled with an escape: still the same member once unescaped.
  fc.constant({
    text: `{"p\\u0061th":${json('C:\\certs')},${json(validEnableBody()).slice(1)}`,
    name: 'path',
  }),
);

const nonJsonMedia = fc.constantFrom(
  'text/plain',
  'text/json',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'application/jsonx',
  'application/octet-stream',
  'json',
);

const invalidJsonText = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }).map((s) => `{${s}`),
    fc.constantFrom(
      '{',
      '{"path":}',
      "{'path':'x'}",
      '{"path":"C:\\certs"',
      '{"a":1,}',
      'NaN',
      '{"a":01}',
      '\u0000',
    ),
  )
  .filter((t) => {
    try {
      JSON.parse(t);
      return false;
    } catch {
      return true;
    }
  });

const nonObjectJson = fc
  .oneof(
    fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
    fc.constant([validEnableBody()]),
  )
  .map((v) => json(v));

const invalidUtf8 = fc
  .constantFrom(
    [0xff],
    [0xc3, 0x28],
    [0xe4],
    [0xed, 0xa0, 0x80], // an encoded surrogate
    [0xf8, 0x88, 0x80, 0x80, 0x80],
  )
  .map((bad) => {
    const text = json(validEnableBody());
    const at = text.indexOf(VALID_PASSWORD) + 4;
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]);
  });

const oversized = fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 3 }).map((size) => {
  const body = validEnableBody();
  const text = json(body);
  return `${text.slice(0, -1)},"padding":"${'a'.repeat(Math.max(0, size - text.length - 14))}"}`;
});

const staleIfMatch = fc.oneof(
  fc.constantFrom('"g0"', '"g2"', 'W/"g0"', '"g01"', 'g1', '"G1"', '""', '"g1 "'),
  fc
    .stringMatching(/^[!#-~]{1,20}$/)
    .filter((t) => t !== '*' && !t.split(',').some((p) => p.trim() === '"g1"')),
);

const randomToken = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);

/** Credentials that must be refused (401), with the header the error must name. */
const badCredentials = fc.oneof(
  fc.constant({ headers: {}, name: 'Access-Token', kind: 'auth-none' }),
  randomToken.map((t) => ({
    headers: { 'Access-Token': `Bearer ${t}` },
    name: 'Access-Token',
    kind: 'auth-bad-key',
  })),
  randomToken.map((t) => ({
    headers: { Authorization: `Bearer ${t}` },
    name: 'Authorization',
    kind: 'auth-bad-bearer',
  })),
  fc
    .constantFrom('Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'token', 'Bearer\ta\tb', 'NTLM TlRMTVNTUAAB')
    .map((v) => ({ headers: { 'Access-Token': v }, name: 'Access-Token', kind: 'auth-malformed' })),
  fc.tuple(randomToken, randomToken, randomToken).map(([a, b, c]) => ({
    headers: { Authorization: `Bearer ${a}.${b}.${c}` },
    name: 'Authorization',
    kind: 'auth-jwt',
  })),
  fc.constant({
    headers: { 'Access-Token': `Bearer ${'a'.repeat(9000)}` },
    name: 'Access-Token',
    kind: 'auth-huge',
  }),
);

/** Extra noise on any rejected request: it must not change the answer. */
const noise = fc.record(
  {
    Prefer: fc.constantFrom('wait=1', 'wait=0', 'wait=abc', 'respond-async', 'wait=99999999'),
    'X-Forwarded-For': fc.constantFrom('127.0.0.1', '::1', 'evil'),
    'X-Request-Id': randomToken,
  },
  { requiredKeys: [] },
);

const query = fc.option(
  fc.webQueryParameters().filter((q) => q.length < 200),
  { nil: undefined },
);

const withNoise = (arb: fc.Arbitrary<RejectedCase>): fc.Arbitrary<RejectedCase> =>
  fc.tuple(arb, noise, query).map(([c, n, q]) => ({
    ...c,
    request: {
      ...c.request,
      headers: { ...n, ...c.request.headers },
      path: q ? `${c.request.path}?${q}` : c.request.path,
    },
  }));

const JSON_CT = { 'Content-Type': 'application/json' };

/** A body over the limit is refused for its size before anything in it is looked at. */
const sized = (text: string, expect: Expected): Expected =>
  Buffer.byteLength(text) > MAX_BODY_BYTES ? { status: 413, name: 'body' } : expect;

/** Every request it yields must be refused with the expected status and field, changing nothing. */
export function rejectedRequest(ids: FuzzIds): fc.Arbitrary<RejectedCase> {
  const enabled = `${RESOURCE}/${ids.enabled}`;
  const fresh = `${RESOURCE}/${ids.fresh}`;
  const validPost = json(validEnableBody());
  const validPatch = json({ path: 'C:\\certs\\fuzz-patched' });
  const write = (method: string, path: string, body?: string, headers: Record<string, string> = {}) => ({
    kind: '',
    method,
    path,
    headers: body === undefined ? headers : { ...JSON_CT, ...headers },
    body,
    auth: 'write' as const,
  });

  const cases: fc.Arbitrary<RejectedCase>[] = [
    // One bad field in a POST body (never enabled, so no POST to it can succeed).
    bodyDefects('enable', ids).map((d) => ({
      request: { ...write('POST', fresh, json(d.body)), kind: `post-${d.kind}` },
      expect: sized(json(d.body), { status: d.status, name: d.name }),
    })),
    // One bad field in a PATCH body to an enabled id.
    bodyDefects('update', ids).map((d) => ({
      request: { ...write('PATCH', enabled, json(d.body)), kind: `patch-${d.kind}` },
      expect: sized(json(d.body), { status: d.status, name: d.name }),
    })),
    // Credentials: none, wrong, malformed; then a read-only caller writing.
    fc
      .tuple(
        badCredentials,
        fc.constantFrom(
          ['GET', RESOURCE],
          ['GET', enabled],
          ['GET', `${enabled}/hosts`],
          ['POST', fresh],
          ['PATCH', enabled],
          ['DELETE', enabled],
          ['GET', '/operations/00000000-0000-0000-0000-000000000000'],
          ['GET', '/openapi.json'],
        ),
      )
      .map(([cred, [method, path]]) => ({
        request: {
          kind: cred.kind,
          method: method,
          path: path,
          headers: { ...(method === 'POST' || method === 'PATCH' ? JSON_CT : {}), ...cred.headers },
          body: method === 'POST' ? validPost : method === 'PATCH' ? validPatch : undefined,
          auth: 'none' as const,
        },
        expect: { status: 401, name: cred.name },
      })),
    fc
      .constantFrom(
        ['POST', fresh, validPost],
        ['PATCH', enabled, validPatch],
        ['DELETE', enabled, undefined],
      )
      .map(([method, path, body]) => ({
        request: { ...write(method, path, body), kind: 'auth-read-role-writes', auth: 'read' as const },
        expect: { status: 403, name: 'role' },
      })),
    // The body as bytes: media type, syntax, encoding, shape, size, duplicate names.
    fc
      .tuple(fc.constantFrom(['POST', fresh], ['PATCH', enabled]), nonJsonMedia)
      .map(([[method, path], type]) => ({
        request: { ...write(method, path, validPost, { 'Content-Type': type }), kind: 'media-type' },
        expect: { status: 415, name: 'Content-Type' },
      })),
    fc.constantFrom(['POST', fresh], ['PATCH', enabled]).map(([method, path]) => ({
      request: { ...write(method, path), kind: 'media-missing', body: validPost, headers: {} },
      expect: { status: 415, name: 'Content-Type' },
    })),
    fc.tuple(fc.constantFrom(['POST', fresh], ['PATCH', enabled]), invalidJsonText).map(([[m, p], text]) => ({
      request: { ...write(m, p, text), kind: 'json-syntax' },
      expect: { status: 400, name: 'body' },
    })),
    fc.tuple(fc.constantFrom(['POST', fresh], ['PATCH', enabled]), nonObjectJson).map(([[m, p], text]) => ({
      request: { ...write(m, p, text), kind: 'json-not-object' },
      expect: { status: 400, name: 'body' },
    })),
    fc.constantFrom(['POST', fresh], ['PATCH', enabled]).map(([m, p]) => ({
      request: { ...write(m, p, ''), kind: 'body-empty' },
      expect: { status: 400, name: 'body' },
    })),
    fc.tuple(fc.constantFrom(['POST', fresh], ['PATCH', enabled]), invalidUtf8).map(([[m, p], bytes]) => ({
      request: { ...write(m, p, ''), kind: 'body-not-utf8', body: bytes },
      expect: { status: 400, name: 'body' },
    })),
    fc.tuple(fc.constantFrom(['POST', fresh], ['PATCH', enabled]), oversized).map(([[m, p], text]) => ({
      request: { ...write(m, p, text), kind: 'body-oversized' },
      expect: { status: 413, name: 'body' },
    })),
    fc.tuple(fc.constantFrom(['POST', fresh], ['PATCH', enabled]), duplicateKeyBody).map(([[m, p], dup]) => ({
      request: { ...write(m, p, dup.text), kind: 'duplicate-key' },
      expect: { status: 400, name: dup.name },
    })),
    // ccs-ids that are not ccs-ids, on every verb.
    fc
      .tuple(
        badCcsId,
        fc.constantFrom(['GET', ''], ['GET', '/hosts'], ['POST', ''], ['PATCH', ''], ['DELETE', '']),
      )
      .map(([id, [method, suffix]]) => ({
        request: {
          ...write(
            method,
            `${RESOURCE}/${segment(id)}${suffix}`,
            method === 'POST' ? validPost : method === 'PATCH' ? validPatch : undefined,
          ),
          kind: 'bad-ccs-id',
        },
        expect: { status: 400, name: 'id' },
      })),
    // Operations that do not exist.
    fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 40 }).filter(isSegment)).map((id) => ({
      request: { ...write('GET', `/operations/${segment(id)}`), kind: 'operation-unknown' },
      expect: { status: 404, name: 'id' },
    })),
    // Conditions that do not hold.
    staleIfMatch.map((etag) => ({
      request: { ...write('PATCH', enabled, validPatch, { 'If-Match': etag }), kind: 'if-match-patch' },
      expect: { status: 412, name: 'If-Match' },
    })),
    staleIfMatch.map((etag) => ({
      request: { ...write('DELETE', enabled, undefined, { 'If-Match': etag }), kind: 'if-match-delete' },
      expect: { status: 412, name: 'If-Match' },
    })),
    fc.constant({
      request: { ...write('POST', enabled, validPost), kind: 'post-already-enabled' },
      expect: { status: 409, name: 'id' },
    }),
    fc.constantFrom(['GET', undefined], ['PATCH', validPatch]).map(([method, body]) => ({
      request: { ...write(method, `${RESOURCE}/${ids.fresh}`, body), kind: 'not-enabled' },
      expect: { status: 404, name: SEED_404_NAME },
    })),
  ];
  return withNoise(fc.oneof(...cases));
}

// ---------------------------------------------------------------------------------------------
// Chaos: anything at all, valid or not. Only "no 5xx" and the error shape are known in advance.

const anyPath = (ids: string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ids).map((id) => `${RESOURCE}/${id}`) },
    { weight: 2, arbitrary: fc.constantFrom(...ids).map((id) => `${RESOURCE}/${id}/hosts`) },
    { weight: 2, arbitrary: badCcsId.map((id) => `${RESOURCE}/${segment(id)}`) },
    { weight: 1, arbitrary: fc.constant(RESOURCE) },
    { weight: 1, arbitrary: fc.uuid().map((id) => `/operations/${id}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('/openapi.json', '/WebServer/Centralized-Certificates', '/', ''),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.string({ minLength: 1, maxLength: 10 }).filter(isSegment).map(segment), {
          minLength: 1,
          maxLength: 4,
        })
        .map((parts) => `/${parts.join('/')}`),
    },
  );

const anyValue = (good: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

const goodPath = fc.constantFrom(
  'C:\\certs',
  'C:\\certs\\a',
  '\\\\fileserver\\ccs',
  '%SystemDrive%\\ccs',
  'D:\\x',
);
const goodUser = fc.constantFrom(VALID_USERNAME, 'svc@contoso.com', 'LOCALHOST\\reader');

const shapedBody = fc.record(
  {
    path: anyValue(
      fc.oneof(
        goodPath,
        pathAttack.map((a) => a.input),
      ),
    ),
    identity: anyValue(
      fc.record(
        {
          username: anyValue(fc.oneof(goodUser, badUsername)),
          password: anyValue(fc.constantFrom('p', 'x'.repeat(40))),
        },
        { requiredKeys: [] },
      ),
    ),
    private_key_password: anyValue(fc.constantFrom('', 'k', 'key-2')),
    id: anyValue(fc.constantFrom('fz-chaos-a', 'other')),
    generation: fc.integer(),
  },
  { requiredKeys: [] },
);

export function chaosRequest(ids: string[]): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant('GET') },
        { weight: 3, arbitrary: fc.constant('POST') },
        { weight: 3, arbitrary: fc.constant('PATCH') },
        { weight: 1, arbitrary: fc.constant('DELETE') },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'HEAD', 'OPTIONS', 'PROPFIND') },
      ),
      path: anyPath(ids),
      query,
      auth: fc.constantFrom('write', 'write', 'write', 'read', 'none'),
      contentType: fc.option(
        fc.oneof(fc.constant('application/json'), fc.constant('application/merge-patch+json'), nonJsonMedia),
        { nil: undefined },
      ),
      prefer: fc.option(fc.constantFrom('wait=0', 'wait=1', 'wait=x', 'return=minimal'), { nil: undefined }),
      ifMatch: fc.option(fc.oneof(fc.constantFrom('*', '"g1"', '"g2"'), staleIfMatch), { nil: undefined }),
      body: fc.option(
        fc.oneof(
          { weight: 4, arbitrary: shapedBody.map((b) => json(b)) },
          { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
          { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
        ),
        { nil: undefined },
      ),
    })
    .map((r) => {
      const headers: Record<string, string> = {};
      if (r.contentType) headers['Content-Type'] = r.contentType;
      if (r.prefer) headers.Prefer = r.prefer;
      if (r.ifMatch) headers['If-Match'] = r.ifMatch;
      const bodyless = r.method === 'GET' || r.method === 'HEAD';
      return {
        kind: 'chaos',
        method: r.method,
        path: r.query ? `${r.path}?${r.query}` : r.path,
        headers,
        body: bodyless ? undefined : r.body,
        auth: r.auth,
      };
    });
}
