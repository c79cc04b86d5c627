/**
 * Finding the command-line tools some suites need (pwsh, the Bicep CLI): an environment
 * variable naming the file, then what `scripts/install-tools.sh` put under .tools/, then PATH.
 * A suite whose tool is missing is skipped with a notice — unless its CCS_REQUIRE_* variable is
 * set (CI), which turns the absence into a failure.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The first executable of: `$envVar`, `<repo>/.tools/<installedAt>`, `<each PATH dir>/<name>`. */
export function findTool(name: string, envVar: string, installedAt: string): string | undefined {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const candidates = [
    process.env[envVar],
    join(ROOT, '.tools', installedAt),
    ...pathDirs.map((dir) => join(dir, name)),
  ];
  return candidates.find((file): file is string => {
    if (!file) return false;
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether the environment variable `requireVar` demands the tool (set, and not `0`). */
export function toolRequired(requireVar: string): boolean {
  const value = process.env[requireVar];
  return !!value && value !== '0';
}
