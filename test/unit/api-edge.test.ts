import { describe, expect, it } from 'vitest';
import functions from '@azure/functions';
import { EnableBodySchema, UpdateBodySchema, parseBody } from '../../shared/api-schemas.js';
import { DomainError } from '../../shared/errors.js';
import {
  isJsonMediaType,
  preferredWaitSeconds,
  readJsonBody,
  MAX_BODY_BYTES,
} from '../../functions/http/request-body.js';
import { errorResponse, failure } from '../../functions/http/respond.js';
import { matchRoute } from '../../functions/route-table.js';
import { silentLogger } from '../../shared/log.js';

const { HttpRequest } = functions;

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error.field;
    throw error;
  }
  return undefined;
}

describe('request body schemas', () => {
  const good = {
    path: 'C:\\certs',
    identity: { username: 'CONTOSO\\svc', password: 'p' },
    private_key_password: '',
  };

  it('accepts an enable body with an empty private-key password', () => {
    expect(parseBody(EnableBodySchema, good).private_key_password).toBe('');
  });

  it.each([
    [{ ...good, path: undefined }, 'path'],
    [{ ...good, identity: undefined }, 'identity'],
    [{ ...good, identity: { username: 'u' } }, 'identity.password'],
    [{ ...good, identity: { password: 'p' } }, 'identity.username'],
    [{ ...good, identity: { username: 'a"b', password: 'p' } }, 'identity.username'],
    [{ ...good, identity: { username: 'u', password: 'p\u0000' } }, 'identity.password'],
    [{ ...good, private_key_password: 'x'.repeat(513) }, 'private_key_password'],
    [{ ...good, extra: 1 }, 'extra'],
    [{ ...good, identity: { username: 'u', password: 'p', domain: 'd' } }, 'identity.domain'],
  ])('names the field at fault (%#)', (body, field) => {
    expect(fieldOf(() => parseBody(EnableBodySchema, body))).toBe(field);
  });

  it('never repeats a submitted value in the message', () => {
    try {
      parseBody(EnableBodySchema, { ...good, identity: { username: 'u', password: 42 } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('42');
    }
  });

  it('tolerates the read-only fields of a GET body in a PATCH and refuses unknown ones', () => {
    const echoed = { id: 'x', status: 'converged', generation: 3, hosts: {}, _links: {}, path: 'C:\\certs' };
    expect(parseBody(UpdateBodySchema, echoed).path).toBe('C:\\certs');
    expect(fieldOf(() => parseBody(UpdateBodySchema, { ...echoed, colour: 'red' }))).toBe('colour');
  });

  it('refuses a body that is not a JSON object', () => {
    for (const body of [null, [], 'x', 3])
      expect(fieldOf(() => parseBody(UpdateBodySchema, body))).toBe('body');
  });
});

describe('request edge checks', () => {
  const request = (body: string, headers: Record<string, string>) =>
    new HttpRequest({ method: 'POST', url: 'http://h/api/x', headers, body: { string: body } });

  it('accepts JSON media types with a UTF-8 charset only', () => {
    expect(isJsonMediaType('application/json')).toBe(true);
    expect(isJsonMediaType('application/merge-patch+json; charset=utf-8')).toBe(true);
    expect(isJsonMediaType('application/json; charset=latin1')).toBe(false);
    expect(isJsonMediaType('text/json')).toBe(false);
    expect(isJsonMediaType(null)).toBe(false);
  });

  it('answers 415 for a non-JSON content type and 400 body for bad JSON', async () => {
    await expect(readJsonBody(request('{}', { 'content-type': 'text/plain' }))).rejects.toMatchObject({
      kind: 'unsupported-media',
    });
    await expect(readJsonBody(request('{', { 'content-type': 'application/json' }))).rejects.toMatchObject({
      kind: 'invalid',
      field: 'body',
    });
    await expect(readJsonBody(request('', { 'content-type': 'application/json' }))).rejects.toMatchObject({
      field: 'body',
    });
  });

  it('answers 413 past 64 KiB, whatever Content-Length claims', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) });
    await expect(readJsonBody(request(big, { 'content-type': 'application/json' }))).rejects.toMatchObject({
      kind: 'too-large',
    });
    await expect(
      readJsonBody(
        request('{}', { 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) }),
      ),
    ).rejects.toMatchObject({ kind: 'too-large' });
  });

  it('survives pathological nesting', async () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const parsed = await readJsonBody(request(deep, { 'content-type': 'application/json' })).catch(
      (e: unknown) => e,
    );
    expect(parsed instanceof DomainError || Array.isArray(parsed)).toBe(true);
  });

  it('reads Prefer: wait, caps it at 60 and ignores nonsense', () => {
    const prefer = (value: string) => preferredWaitSeconds(request('', { prefer: value }));
    expect(prefer('wait=10')).toBe(10);
    expect(prefer('respond-async, wait=5')).toBe(5);
    expect(prefer('wait=600')).toBe(60);
    expect(prefer('wait=abc')).toBe(0);
    expect(prefer('handling=strict')).toBe(0);
  });
});

describe('error responses', () => {
  it('quotes the seed 404 exactly, key order included', () => {
    const response = errorResponse(
      new DomainError(
        'not-found',
        'CcsNotEnabled',
        'IIS feature not installed',
        'IIS Central Certificate Store',
      ),
    );
    expect(JSON.stringify(response.jsonBody)).toBe(
      '{"title":"Not found","detail":"IIS feature not installed","name":"IIS Central Certificate Store","status":404}',
    );
  });

  it('uses the IIS Administration shape and a stable error code header', () => {
    const response = errorResponse(
      new DomainError('invalid', 'InvalidParameter', 'bad', 'identity.password'),
    );
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      title: 'Invalid parameter',
      name: 'identity.password',
      detail: 'bad',
      status: 400,
    });
    expect((response.headers as Record<string, string>)['x-ms-error-code']).toBe('InvalidParameter');
  });

  it('turns an unexpected error into 503 without its message', () => {
    const response = failure(new Error('AccountKey=secret-material'), silentLogger);
    expect(response.status).toBe(503);
    expect(JSON.stringify(response.jsonBody)).not.toContain('secret-material');
  });
});

describe('route templates', () => {
  it('matches parameters and literal segments case-insensitively', () => {
    expect(
      matchRoute('webserver/centralized-certificates/{ccsId}', 'WebServer/centralized-certificates/web'),
    ).toEqual({ ccsId: 'web' });
    expect(matchRoute('operations/{id}', 'operations')).toBeNull();
    expect(matchRoute('operations/{id}', 'operations/a/b')).toBeNull();
    expect(matchRoute('operations/{id}', 'operations/%E0%A4%A')).toBeNull();
  });
});
