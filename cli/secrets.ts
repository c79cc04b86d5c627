/**
 * Secrets reach `ccs` only from standard input or a prompt that does not echo — never from the
 * command line, where they would land in shell history and in every process listing. With both
 * `--password-stdin` and `--private-key-password-stdin`, stdin holds two lines: the identity's
 * password, then the private-key password.
 */
import type { Readable, Writable } from 'node:stream';
import { CliError, EXIT } from './exit-codes.js';

export interface SecretIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stderr: Writable & { isTTY?: boolean };
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads stdin's lines once (the line endings are not part of the secrets). */
export async function stdinLines(io: SecretIo, wanted: number): Promise<string[]> {
  const lines = (await readAll(io.stdin)).split(/\r?\n/);
  if (lines.length > wanted && lines[lines.length - 1] === '') lines.pop();
  if (lines.length < wanted) {
    throw new CliError(
      `stdin has ${lines.length} line(s); expected ${wanted} (the identity's password, then the private-key password)`,
      EXIT.invalidInput,
    );
  }
  return lines.slice(0, wanted);
}

/** Asks on the terminal without echoing what is typed (raw mode: each key read, none printed). */
export function promptHidden(io: SecretIo, question: string): Promise<string> {
  const { stdin, stderr } = io;
  if (!stdin.isTTY || !stdin.setRawMode) {
    return Promise.reject(
      new CliError(`${question}: no terminal to ask on; give it on stdin`, EXIT.invalidInput),
    );
  }
  stderr.write(`${question}: `);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (fn: () => void) => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      fn();
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(() => resolve(typed));
        if (char === '\u0003') return done(() => reject(new CliError('Cancelled', EXIT.invalidInput)));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    stdin.on('data', onData);
  });
}
