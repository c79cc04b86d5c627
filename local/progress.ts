/**
 * What `npm start` says while it starts: one short line per stage. On a terminal the line of
 * the stage in progress is rewritten in place (`… agents 1/2 enrolled` becomes `✓ agents …`);
 * anywhere else (a pipe, a file, CI, TERM=dumb) each stage prints one plain line when it is
 * done, with no control characters.
 */

/** The stages of a start, in order. */
export type Stage = 'storage' | 'Key Vault' | 'demo share' | 'API' | 'console' | 'agents';

export interface StartProgress {
  /** A stage starts. */
  begin(stage: Stage): void;
  /** News from a running stage (terminal only: e.g. `1/2 enrolled`). */
  update(stage: Stage, detail: string): void;
  done(stage: Stage, detail: string): void;
  failed(stage: Stage): void;
}

export const silentProgress: StartProgress = {
  begin: () => undefined,
  update: () => undefined,
  done: () => undefined,
  failed: () => undefined,
};

/** The output that suits `stream`: rewritten lines on a terminal, plain lines otherwise. */
export function progressFor(
  stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>,
  env: NodeJS.ProcessEnv = process.env,
): StartProgress {
  return stream.isTTY && env.TERM !== 'dumb' ? terminalProgress(stream) : plainProgress(stream);
}

const label = (stage: Stage) => stage.padEnd(10);

export function plainProgress(stream: Pick<NodeJS.WriteStream, 'write'>): StartProgress {
  return { ...silentProgress, done: (stage, detail) => void stream.write(`${stage}: ${detail}\n`) };
}

export function terminalProgress(stream: Pick<NodeJS.WriteStream, 'write'>): StartProgress {
  // \r goes back to the start of the line, ESC[2K clears it (ECMA-48 EL; Windows Terminal and
  // conhost honour it since Windows 10).
  const rewrite = (text: string) => void stream.write(`\r\x1b[2K${text}`);
  return {
    begin: (stage) => rewrite(`  … ${label(stage)}`),
    update: (stage, detail) => rewrite(`  … ${label(stage)} ${detail}`),
    done: (stage, detail) => rewrite(`  ✓ ${label(stage)} ${detail}\n`),
    failed: (stage) => rewrite(`  ✗ ${label(stage)}\n`),
  };
}
