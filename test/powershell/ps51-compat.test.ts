/**
 * Windows PowerShell 5.1 compatibility, checked: every production .ps1/.psm1 (agent/, and the
 * Windows job's steps in scripts/windows/) is walked with pwsh's own parser (ps51/Get-PsSurface.ps1)
 * and refused if it holds syntax 5.1 lacks, or calls a command or parameter 5.1 does not have
 * (ps51/catalogue.json). A fixture full of 6+/7+ constructs proves the check finds each one.
 * Runs in `npm test`, and in .ci/run (which runs npm test with pwsh mandatory).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { describePwsh, requirePwsh, ROOT } from './support.js';

interface Surface {
  file: string;
  errors: string[];
  syntax: { line: number; what: string }[];
  functions: string[];
  commands: { line: number; name: string; parameters: { name: string; value: string | null }[] }[];
}

interface Catalogue {
  common: string[];
  values: Record<string, string[]>;
  native: string[];
  sixPlus: Record<string, string>;
  commands: Record<string, string[]>;
}

const PS51 = join(ROOT, 'test', 'powershell', 'ps51');
const catalogue = JSON.parse(readFileSync(join(PS51, 'catalogue.json'), 'utf8')) as Catalogue;
/** Functions of the stand-in that the scripts call only in test mode (-TestModule). */
const TEST_SEAMS = new Set(['use-fakestoreprobe', 'read-fakeregistry']);

function psFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : psFiles(path);
    return /\.ps[dm]?1$/i.test(name) ? [path] : [];
  });
}

async function surfaces(files: string[]): Promise<Surface[]> {
  const { stdout } = await promisify(execFile)(
    requirePwsh(),
    ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', join(PS51, 'Get-PsSurface.ps1'), ...files],
    { env: { ...process.env, POWERSHELL_TELEMETRY_OPTOUT: '1' }, maxBuffer: 32 << 20 },
  );
  return JSON.parse(stdout) as Surface[];
}

/** Every reason a file would not run on Windows PowerShell 5.1, as "file:line what". */
export function ps51Problems(files: Surface[]): string[] {
  const lower = (s: string) => s.toLowerCase();
  const defined = new Set(files.flatMap((f) => f.functions.map(lower)));
  const commands = new Map(
    Object.entries(catalogue.commands).map(([name, params]) => [lower(name), new Set(params.map(lower))]),
  );
  const common = new Set(catalogue.common.map(lower));
  const sixPlus = new Map(Object.entries(catalogue.sixPlus).map(([k, v]) => [lower(k), v]));
  const problems: string[] = [];
  for (const file of files) {
    const at = (line: number, what: string) => problems.push(`${relative(ROOT, file.file)}:${line} ${what}`);
    for (const error of file.errors) at(0, `parse error ${error}`);
    for (const s of file.syntax) at(s.line, s.what);
    for (const call of file.commands) {
      const name = lower(call.name);
      if (sixPlus.has(name)) {
        at(call.line, `${call.name} (${sixPlus.get(name)})`);
        continue;
      }
      if (defined.has(name) || TEST_SEAMS.has(name) || catalogue.native.includes(name)) continue;
      const known = commands.get(name);
      if (!known) {
        at(call.line, `${call.name} is not in the 5.1 catalogue (test/powershell/ps51/catalogue.json)`);
        continue;
      }
      for (const parameter of call.parameters) {
        const p = lower(parameter.name);
        const newer =
          sixPlus.get(`${name} -${p}`) ?? sixPlus.get(`${name} -${p} ${lower(parameter.value ?? '')}`);
        if (newer) at(call.line, `${call.name} -${parameter.name} (${newer})`);
        else if (!known.has(p) && !common.has(p))
          at(call.line, `${call.name} has no -${parameter.name} in 5.1`);
        const allowed = Object.entries(catalogue.values).find(([n]) => lower(n) === p)?.[1];
        if (
          allowed &&
          parameter.value !== null &&
          !allowed.some((v) => lower(v) === lower(parameter.value!))
        ) {
          at(call.line, `${call.name} -${parameter.name} ${parameter.value} (not a 5.1 value)`);
        }
      }
    }
  }
  return problems;
}

describePwsh.concurrent('Windows PowerShell 5.1 compatibility', { timeout: 120_000 }, () => {
  it('every production script uses only syntax, commands and parameters Windows PowerShell 5.1 has', async () => {
    const files = [...psFiles(join(ROOT, 'agent')), ...psFiles(join(ROOT, 'scripts', 'windows'))];
    expect(files.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining(['agent/install.ps1', 'agent/powershell/Test-CcsShare.ps1']),
    );
    expect(ps51Problems(await surfaces(files))).toEqual([]);
  });

  it('finds every 6+/7+ construct of the fixture', async () => {
    const problems = ps51Problems(await surfaces([join(PS51, 'ps7-only.ps1')])).map((p) =>
      p.replace(/^[^ ]+ /, ''),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        '#Requires -Version 7.2',
        'operator ??',
        'operator ??=',
        'TernaryExpressionAst',
        'operator ?.',
        'operator ?[]',
        'PipelineChainAst',
        'operator &&',
        'operator ||',
        'escape `u{} or `e',
        'numeric suffix in 10u',
        'ForEach-Object -Parallel (PowerShell 7.0)',
        'ConvertFrom-Json -AsHashtable (PowerShell 6.0)',
        'Test-Json (PowerShell 6.1)',
        'Get-Content -AsByteStream (PowerShell 6.0)',
        'Set-Content -Encoding utf8NoBOM (not a 5.1 value)',
        'Get-Date has no -ProgressAction in 5.1',
        'clean block',
      ]),
    );
  });
});
