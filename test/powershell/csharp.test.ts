/**
 * The C# that runs only on Windows — the service wrapper (agent/service/CcsAgentService.cs,
 * compiled by install.ps1 with the .NET Framework's csc) and the identity probe
 * (agent/powershell/CcsStoreProbe.cs, compiled by Add-Type in Windows PowerShell 5.1) — must be
 * C# 5 against .NET Framework 4.6.2 (the oldest Framework of Windows Server 2016): compiled here
 * with the .NET SDK, language version 5, the 4.6.2 reference assemblies (NuGet), warnings as
 * errors. Skipped with a notice where no `dotnet` is installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support.js';

function hasDotnet(): boolean {
  try {
    execFileSync('dotnet', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dotnet = hasDotnet();
if (!dotnet) console.warn('dotnet not found: the C# 5 / .NET Framework 4.6.2 compile check is skipped');

(dotnet ? describe : describe.skip)('the Windows-only C#', { timeout: 300_000 }, () => {
  it('compiles as C# 5 against the .NET Framework 4.6.2 reference assemblies, without warnings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ccs-csharp-'));
    try {
      await writeFile(
        join(dir, 'check.csproj'),
        `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net462</TargetFramework>
    <LangVersion>5</LangVersion>
    <OutputType>Exe</OutputType>
    <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <Compile Include="${join(ROOT, 'agent', 'service', 'CcsAgentService.cs')}" />
    <Compile Include="${join(ROOT, 'agent', 'powershell', 'CcsStoreProbe.cs')}" />
    <Reference Include="System.ServiceProcess" />
    <PackageReference Include="Microsoft.NETFramework.ReferenceAssemblies.net462" Version="1.0.3" PrivateAssets="all" />
  </ItemGroup>
</Project>
`,
      );
      const { stdout } = await promisify(execFile)('dotnet', ['build', '-nologo', '-v', 'q'], {
        cwd: dir,
        env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
        maxBuffer: 8 << 20,
      }).catch((error: { stdout?: string; message?: string }) => ({
        stdout: `FAILED\n${error.stdout ?? error.message ?? ''}`,
      }));
      expect(stdout).toMatch(/0 Warning\(s\)\s+0 Error\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
