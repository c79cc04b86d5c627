/**
 * `ccs`: the fleet from a shell, on the public API through the typed client (client/). Commands,
 * options and exit codes are in the README ("The ccs command line"); `ccs --help` lists them.
 */
import { Command, CommanderError, Option } from 'commander';
import { connect } from './connection.js';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { report } from './run.js';
import { disableCommand, enableCommand, updateCommand, type ChangeOptions } from './commands/change.js';
import { statusCommand } from './commands/status.js';
import { certsCommand, hostsCommand } from './commands/fleet-reads.js';
import { auditCommand, operationCommand } from './commands/operation.js';

interface GlobalOptions {
  api?: string;
  scope?: string;
  json: boolean;
}

const program = new Command('ccs')
  .description('Central Certificate Store for IIS web farms: the fleet from a shell')
  .addOption(new Option('--api <url>', 'the API, e.g. https://<app>.azurewebsites.net/api').env('CCS_API'))
  .addOption(
    new Option('--scope <scope>', 'Entra ID scope when no CCS_TOKEN is set (default: the API says)').env(
      'CCS_SCOPE',
    ),
  )
  .option('--json', "print the API's JSON (for scripts)", false)
  .showSuggestionAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    `
Credentials: CCS_TOKEN (an access token); in the project, the local stack's .local/stack.json;
otherwise Microsoft Entra ID (DefaultAzureCredential: az login, managed identity…).
Secrets only from stdin (--password-stdin, --private-key-password-stdin) or a prompt.
Exit codes: 0 success, 1 operation failed, 2 invalid input, 3 authentication or role, 4 unreachable.`,
  );

let exitCode: number = EXIT.ok;

function action<A extends unknown[]>(run: (ctx: CommandContext, ...args: A) => Promise<number>) {
  return async (...args: A) => {
    const global = program.opts<GlobalOptions>();
    const ctx: CommandContext = {
      output: { out: process.stdout, err: process.stderr, json: global.json },
      io: { stdin: process.stdin, stderr: process.stderr },
      connect: () => connect({ api: global.api, scope: global.scope }),
    };
    try {
      exitCode = await run(ctx, ...args);
    } catch (error) {
      exitCode = report(ctx.output, error);
    }
  };
}

const changeOptions = (command: Command, secretsHelp: string) =>
  command
    .option('--password-stdin', `read the identity's password from stdin (${secretsHelp})`)
    .option(
      '--private-key-password-stdin',
      "read the PFX files' private-key password from stdin (after the password)",
    )
    .option('--no-wait', 'print the operation id and return instead of following it')
    .option('--force', 'even though sites bound to CCS lose their certificates (the API refuses otherwise)');

changeOptions(
  program
    .command('enable <ccs-id>')
    .description('enable CCS on every host of a ccs-id (two phases: preflight everywhere, then apply)')
    .requiredOption('--path <share>', 'the share, e.g. \\\\fileserver\\ccs')
    .requiredOption('--username <user>', 'the identity that reads the share, e.g. CONTOSO\\ccs-reader'),
  'asked without echo when not given',
).action(action((ctx, ccsId: string, options: ChangeOptions) => enableCommand(ctx, ccsId, options)));

changeOptions(
  program
    .command('update <ccs-id>')
    .description('change the share, the identity or a password of a ccs-id')
    .option('--path <share>', 'the new share')
    .option('--username <user>', 'the new identity')
    .option('--if-match <etag>', 'only if the resource still has this ETag (else 412)'),
  'a new one',
).action(action((ctx, ccsId: string, options: ChangeOptions) => updateCommand(ctx, ccsId, options)));

program
  .command('disable <ccs-id>')
  .description('disable CCS on every host of a ccs-id (they erase the stored username and passwords)')
  .option('--yes', 'do not ask (a terminal asks first)')
  .option('--if-match <etag>', 'only if the resource still has this ETag (else 412)')
  .option('--no-wait', 'print the operation id and return instead of following it')
  .option('--force', 'even though sites still use CCS (the API answers 409 SitesUseCcs otherwise)')
  .action(action((ctx, ccsId: string, options: ChangeOptions) => disableCommand(ctx, ccsId, options)));

program
  .command('status [ccs-id]')
  .description('the fleet at a glance, or one ccs-id')
  .action(action((ctx, ccsId: string | undefined) => statusCommand(ctx, ccsId)));

program
  .command('hosts <ccs-id>')
  .description("a ccs-id's hosts: status, generations, last seen, agent, drift, errors")
  .action(action((ctx, ccsId: string) => hostsCommand(ctx, ccsId)));

program
  .command('certs [ccs-id]')
  .description('the certificates of the shares, soonest expiry first')
  .option('--expiring <days>', 'only those expiring within this many days (expired ones included)')
  .action(
    action((ctx, ccsId: string | undefined, options: { expiring?: string }) =>
      certsCommand(ctx, ccsId, options),
    ),
  );

program
  .command('operation <id>')
  .description("an operation's status and each host's preflight and apply")
  .option('--watch', 'follow it until it ends, with a progress bar')
  .action(action((ctx, id: string, options: { watch?: boolean }) => operationCommand(ctx, id, options)));

program
  .command('audit')
  .description('who changed what, newest first (write role)')
  .option('--ccs-id <id>', 'only this ccs-id')
  .option('--top <n>', 'how many entries (1-500, default 100)')
  .action(action((ctx, options: { ccsId?: string; top?: string }) => auditCommand(ctx, options)));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not failures; any other parse error is invalid input (commander said why).
    exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
  } else {
    exitCode = report({ out: process.stdout, err: process.stderr, json: false }, error);
  }
}
if (exitCode === EXIT.invalidInput && process.argv.length <= 2) exitCode = EXIT.ok;
process.exitCode = exitCode;
