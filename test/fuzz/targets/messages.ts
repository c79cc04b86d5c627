/**
 * The two queue decoders (shared/messages.ts): the agent's reading of its command queue
 * (`decodeMessageText`, `AgentCommandSchema`, the signature check of shared/signing.ts) and the
 * API's reading of the reports queue (`ReportSchema`, ccs-id and host name rules). Anyone with
 * send rights on a queue controls these bytes. Oracles: nothing throws but JSON.parse's
 * SyntaxError; a message that parses survives encode → decode → parse unchanged; a command whose
 * signature verifies is one the key really signed (a mutation cannot keep a signature valid).
 */
import { describeCertificateFile } from '../../../shared/certificates/describe.js';
import {
  AgentCommandSchema,
  MESSAGE_VERSION,
  ReportSchema,
  decodeMessageText,
  encodeMessage,
  type AgentCommand,
  type Report,
} from '../../../shared/messages.js';
import { isCcsId, isHostName } from '../../../shared/names.js';
import { generateKeyPairSync, sign } from 'node:crypto';
import {
  SIGNATURE_ALGORITHM,
  canonicalJson,
  checkSignature,
  commandSigningInput,
  readSignature,
  signedPayload,
} from '../../../shared/signing.js';
import { FIXTURE_PASSWORD, loadFixture } from '../../support/pfx-fixtures.js';
import { mutateBytes } from '../engine/mutator.js';
import { FuzzFinding, expectOnly, type FuzzTarget } from '../engine/target.js';
import { mutateMessage } from './json-mutator.js';

/** A P-256 key pair of the fuzz run: commands are signed as Key Vault signs them (ES256, r || s). */
const KEY = {
  version: '0123456789abcdef0123456789abcdef',
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }),
};
const signCommand = <T extends object>(command: T) => ({
  ...command,
  sig: {
    alg: SIGNATURE_ALGORITHM,
    kid: KEY.version,
    sig: sign('sha256', commandSigningInput(command as Record<string, unknown>), {
      key: KEY.privateKey,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url'),
  },
});
const ISSUED = '2026-06-01T12:00:00.000Z';
const NOW = Date.parse(ISSUED) + 60_000;
const header = { v: MESSAGE_VERSION, ccsId: 'demo', host: 'web-01.contoso.com' } as const;
const ref = (name: string): { name: string; version: string } => ({ name, version: '0123456789abcdef' });
const desired = {
  enabled: true,
  path: '\\\\fileserver\\ccs',
  username: 'CONTOSO\\ccs-reader',
  password: ref('ccs-demo-identity-password'),
  privateKeyPassword: ref('ccs-demo-private-key-password'),
};

const COMMANDS: AgentCommand[] = [
  { ...header, type: 'preflight', operationId: 'op-1', generation: 3, desired, issuedAt: ISSUED },
  { ...header, type: 'apply', operationId: null, generation: 4, desired, issuedAt: ISSUED },
  {
    ...header,
    type: 'apply',
    operationId: 'op-2',
    generation: 5,
    desired: { enabled: false, path: null, username: null, password: null, privateKeyPassword: null },
    issuedAt: ISSUED,
  },
  { ...header, type: 'scan', generation: 4, scanSeq: 7, full: true, issuedAt: ISSUED },
];
const SIGNED = COMMANDS.map((c) => signCommand(c));
const SIGNED_PAYLOADS = new Set(SIGNED.map((c) => canonicalJson(signedPayload(c))));

const actual = { enabled: true, path: 'C:\\certs', username: 'ccs-reader', osVersion: '10.0.17763' };
const entry = describeCertificateFile(
  { name: 'www.contoso.com.pfx', size: 4000, mtimeMs: Date.parse(ISSUED) },
  loadFixture('aes256/www.contoso.com.pfx'),
  FIXTURE_PASSWORD,
);
const REPORTS: Report[] = [
  {
    ...header,
    type: 'hello',
    agentVersion: '1.0.0',
    backend: 'simulated',
    actual,
    appliedGeneration: 3,
    at: ISSUED,
  },
  {
    ...header,
    type: 'result',
    operationId: 'op-1',
    phase: 'preflight',
    generation: 4,
    outcome: 'failed',
    error: {
      name: 'identity',
      code: 'CannotAccessStore',
      detail: 'Cannot access certificate store',
      status: 400,
    },
    actual: null,
    appliedGeneration: 3,
    at: ISSUED,
  },
  {
    ...header,
    type: 'drift',
    generation: 4,
    found: actual,
    actual,
    repaired: true,
    error: null,
    appliedGeneration: 4,
    at: ISSUED,
  },
  {
    ...header,
    type: 'inventory',
    scanSeq: 7,
    generation: 4,
    full: true,
    chunk: { index: 0, count: 1 },
    files: 1,
    upserts: [entry],
    removed: ['old.contoso.com.pfx'],
    renamed: [{ from: 'a.pfx', to: 'b.pfx' }],
    error: null,
    at: ISSUED,
  },
];

/** Both forms the queue may deliver: base64 (what we send) and plain JSON. */
const asQueueTexts = (messages: object[]): Buffer[] =>
  messages.flatMap((m) => [Buffer.from(encodeMessage(m as Report)), Buffer.from(JSON.stringify(m))]);

const FIELD_NAMES = [
  ...new Set([...COMMANDS, ...REPORTS].flatMap((m) => Object.keys(m))),
  'sig',
  'desired',
  'enabled',
  'path',
  'username',
  'password',
  'privateKeyPassword',
  'name',
  'version',
  'alg',
  'kid',
  'mac',
  'index',
  'count',
];

/**
 * Decodes the queue text and hands the value to `check`, where every error is a finding.
 * JSON.parse refusing the text is the one error a decoder may raise (its callers catch it).
 */
function whenDecoded(input: Buffer, check: (decoded: unknown) => void): void {
  let decoded: unknown;
  try {
    decoded = decodeMessageText(input.toString('utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) return;
    throw new FuzzFinding(`decodeMessageText threw ${String(error)}`, { cause: error });
  }
  expectOnly(
    () => false,
    () => check(decoded),
  );
}

function expectRoundTrip<T extends AgentCommand | Report>(parsed: T, parse: (raw: unknown) => T): void {
  const again = parse(decodeMessageText(encodeMessage(parsed)));
  // Compared as JSON, the wire form: -0 and 0 are the same number there.
  if (JSON.stringify(again) !== JSON.stringify(parsed)) {
    throw new FuzzFinding('message changes through encode → decode → parse');
  }
}

const mutate = (fields: readonly string[]) => (input: Buffer, ctx: Parameters<typeof mutateBytes>[1]) =>
  mutateMessage(input, ctx, fields, mutateBytes);

export const commandMessageTarget: FuzzTarget = {
  name: 'command-message',
  description: "a message on a host's command queue, as the agent decodes and verifies it",
  seeds: () => asQueueTexts([...SIGNED, ...COMMANDS]),
  run: (input) =>
    whenDecoded(input, (decoded) => {
      const parsed = AgentCommandSchema.safeParse(decoded);
      const found = readSignature(decoded);
      if (!parsed.success) return;
      expectRoundTrip(parsed.data, (raw) => AgentCommandSchema.parse(raw));
      if ('ok' in found) return;
      const raw = decoded as Record<string, unknown>;
      const check = checkSignature(raw, found.sig, KEY.publicKey, NOW);
      if (check.ok && !SIGNED_PAYLOADS.has(canonicalJson(signedPayload(raw)))) {
        throw new FuzzFinding('a command the key never signed passes the signature check');
      }
    }),
  coverage: ['/shared/messages.ts', '/shared/signing.ts', '/node_modules/zod/'],
  maxLength: 64 * 1024,
  mutate: mutate(FIELD_NAMES),
};

export const reportMessageTarget: FuzzTarget = {
  name: 'report-message',
  description: 'a message on the reports queue, as the API decodes and validates it',
  seeds: () => asQueueTexts(REPORTS),
  run: (input) =>
    whenDecoded(input, (decoded) => {
      const parsed = ReportSchema.safeParse(decoded);
      if (!parsed.success) return;
      isCcsId(parsed.data.ccsId);
      isHostName(parsed.data.host);
      expectRoundTrip(parsed.data, (raw) => ReportSchema.parse(raw));
    }),
  coverage: ['/shared/messages.ts', '/shared/certificates/metadata.ts', '/node_modules/zod/'],
  maxLength: 64 * 1024,
  mutate: mutate(FIELD_NAMES),
};
