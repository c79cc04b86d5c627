/**
 * `ccs enable`, `ccs update`, `ccs disable`: send the change, then follow its operation with a
 * progress bar until every host preflighted and applied it (or `--no-wait`: print the operation id
 * and return). The outcome is the API's: exit 0 when applied, 1 with each failing host's error
 * when the hosts refused it.
 */
import { disable, enable, update, type ChangeAnswer, type UpdateBody } from '../../client/changes.js';
import { followOperation, operationFailure, type Operation } from '../../client/operations.js';
import type { CcsClient } from '../../client/index.js';
import type { CommandContext } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';
import { line, printJson } from '../output.js';
import { progressView } from '../progress.js';
import { promptHidden, stdinLines } from '../secrets.js';

export interface ChangeOptions {
  path?: string;
  username?: string;
  passwordStdin?: boolean;
  privateKeyPasswordStdin?: boolean;
  ifMatch?: string;
  wait: boolean;
  yes?: boolean;
  /** `?force=true`: change although sites bound to CCS lose their certificates. */
  force?: boolean;
}

interface Secrets {
  password?: string;
  privateKeyPassword?: string;
}

/** The secrets the flags ask for: from stdin (in that order), or asked for on the terminal. */
async function readSecrets(
  ctx: CommandContext,
  options: ChangeOptions,
  needPassword: boolean,
): Promise<Secrets> {
  const fromStdin = [options.passwordStdin, options.privateKeyPasswordStdin].filter(Boolean).length;
  const lines = fromStdin > 0 ? await stdinLines(ctx.io, fromStdin) : [];
  const secrets: Secrets = {};
  if (options.passwordStdin) secrets.password = lines.shift();
  if (options.privateKeyPasswordStdin) secrets.privateKeyPassword = lines.shift();
  if (needPassword && secrets.password === undefined) {
    if (!ctx.io.stdin.isTTY)
      throw new CliError('identity.password: give it on stdin with --password-stdin', EXIT.invalidInput);
    secrets.password = await promptHidden(ctx.io, `Password of ${options.username ?? 'the identity'}`);
    if (!options.privateKeyPasswordStdin)
      secrets.privateKeyPassword = await promptHidden(
        ctx.io,
        'Private-key password of the PFX files (empty: none)',
      );
  }
  return secrets;
}

async function follow(
  ctx: CommandContext,
  client: CcsClient,
  answer: ChangeAnswer,
  wait: boolean,
): Promise<Operation | null> {
  if (answer.kind === 'done') return null;
  if (!wait) return null;
  const view = progressView(ctx.output.err, ctx.output.json);
  try {
    return await followOperation(client, answer.operationId, (op) => view.update(op));
  } finally {
    view.stop();
  }
}

/** Prints the outcome and returns the exit code. */
function conclude(
  ctx: CommandContext,
  verb: string,
  ccsId: string,
  answer: ChangeAnswer,
  op: Operation | null,
): number {
  const { output } = ctx;
  if (answer.kind === 'done') {
    if (output.json) printJson(output, answer.resource ?? { id: ccsId, status: 'not_enabled' });
    else
      line(
        output,
        answer.resource ? `${ccsId}: nothing to change.` : `${ccsId}: CCS was not enabled; nothing to do.`,
      );
    return EXIT.ok;
  }
  if (!op) {
    if (output.json) printJson(output, { operation: answer.operationId });
    else
      line(
        output,
        `${verb} of ${ccsId} accepted: operation ${answer.operationId} (follow it: ccs operation ${answer.operationId} --watch)`,
      );
    return EXIT.ok;
  }
  if (output.json) printJson(output, op);
  if (op.status === 'Succeeded') {
    if (!output.json)
      line(output, `${ccsId}: ${verb} applied on ${op.hosts.length} host(s), generation ${op.generation}.`);
    return EXIT.ok;
  }
  const failure = operationFailure(op);
  output.err.write(
    `ccs: ${verb} of ${ccsId} ${op.status.toLowerCase()}: ${failure?.message ?? 'no detail'}\n`,
  );
  for (const host of op.hosts.filter((h) => h.error)) {
    output.err.write(`  ${host.name}: ${host.error!.name}: ${host.error!.detail} (${host.error!.code})\n`);
  }
  return EXIT.operationFailed;
}

export async function enableCommand(
  ctx: CommandContext,
  ccsId: string,
  options: ChangeOptions,
): Promise<number> {
  if (!options.path) throw new CliError('path: give the share with --path', EXIT.invalidInput);
  if (!options.username) throw new CliError('identity.username: give it with --username', EXIT.invalidInput);
  const secrets = await readSecrets(ctx, options, true);
  const { client } = await ctx.connect();
  const body = {
    path: options.path,
    identity: { username: options.username, password: secrets.password ?? '' },
    ...(secrets.privateKeyPassword ? { private_key_password: secrets.privateKeyPassword } : {}),
  };
  const answer = await enable(client, ccsId, body, options.force);
  return conclude(ctx, 'enable', ccsId, answer, await follow(ctx, client, answer, options.wait));
}

export async function updateCommand(
  ctx: CommandContext,
  ccsId: string,
  options: ChangeOptions,
): Promise<number> {
  const secrets = await readSecrets(ctx, options, false);
  const body: UpdateBody = {};
  if (options.path) body.path = options.path;
  if (options.username || secrets.password !== undefined) {
    body.identity = {
      ...(options.username ? { username: options.username } : {}),
      ...(secrets.password !== undefined ? { password: secrets.password } : {}),
    };
  }
  if (secrets.privateKeyPassword !== undefined) body.private_key_password = secrets.privateKeyPassword;
  if (Object.keys(body).length === 0) {
    throw new CliError(
      'Nothing to update: give --path, --username, --password-stdin or --private-key-password-stdin',
      EXIT.invalidInput,
    );
  }
  const { client } = await ctx.connect();
  const answer = await update(client, ccsId, body, options.ifMatch, options.force);
  return conclude(ctx, 'update', ccsId, answer, await follow(ctx, client, answer, options.wait));
}

export async function disableCommand(
  ctx: CommandContext,
  ccsId: string,
  options: ChangeOptions,
): Promise<number> {
  if (ctx.io.stdin.isTTY && !options.yes) {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr });
    const reply = await rl.question(
      `Disable CCS for ${ccsId} on every host (they erase the stored passwords)? [y/N] `,
    );
    rl.close();
    if (!/^y(es)?$/i.test(reply.trim())) throw new CliError('Not disabled: cancelled', EXIT.invalidInput);
  }
  const { client } = await ctx.connect();
  const answer = await disable(client, ccsId, options.ifMatch, options.force);
  return conclude(ctx, 'disable', ccsId, answer, await follow(ctx, client, answer, options.wait));
}
