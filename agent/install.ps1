<#
.SYNOPSIS
  Installs (or updates) the CCS agent as a Windows service on an IIS server.

.DESCRIPTION
  Run from an elevated Windows PowerShell 5.1 (or pwsh 7) prompt, in the agent's folder (this
  repository or its release, with `npm ci --omit=dev` done and `dist/` built, or the full
  `npm ci` to run the TypeScript through tsx). It:

  1. finds Node.js (>= 20.19, 64-bit: a 32-bit node would read the 32-bit registry view and start
     the 32-bit PowerShell): -NodePath, else node.exe on PATH, else %ProgramFiles%\nodejs;
     checks that the IISAdministration module is available;
  2. checks that neither the agent's folder nor node.exe's folder, nor anything below them, can be
     written by non-administrators (the service runs that code as LocalSystem): only real write
     rights count (WriteData, AppendData, WriteEA, WriteAttributes, Delete, DeleteChild, WRITE_DAC,
     WRITE_OWNER, GENERIC_WRITE, GENERIC_ALL), so Users:ReadAndExecute passes; unblocks the .ps1
     scripts (Zone.Identifier);
  3. writes the configuration to %ProgramData%\CcsAgent\agent.json (from -ConfigFile, or built
     from -CcsId/-QueueServiceUri/-KeyVaultUrl/-AllowedLocations) and ACLs %ProgramData%\CcsAgent
     to Administrators and SYSTEM only (no inheritance): the configuration, the agent's state and
     the logs live there;
  4. compiles the service wrapper agent\service\CcsAgentService.cs with the .NET Framework's own
     C# compiler into -ServiceDir (default %ProgramFiles%\CcsAgent): it speaks the service control
     protocol, keeps node in a Job Object, rotates agent.log and writes to the Event Log;
  5. registers the Event Log source and the service (LocalSystem unless -ServiceAccount names a
     gMSA/virtual account, automatic delayed start, restart on failure after 10 s / 30 s / 60 s,
     failure counter reset after a day), with -Proxy its HTTPS_PROXY/NO_PROXY, then starts it.

  Re-running it updates the configuration and the service in place: the service's command line
  goes through CIM (Win32_Service.Change, named arguments), never through sc.exe, whose quoted
  arguments Windows PowerShell 5.1 mangles. See docs/windows.md.

.EXAMPLE
  .\agent\install.ps1 -CcsId farm-a -QueueServiceUri https://stabc123.queue.core.windows.net/ `
      -KeyVaultUrl https://kv-abc123.vault.azure.net/ `
      -AllowedLocations '[{"path":"\\\\fileserver\\ccs","claims":["read"]}]'

.EXAMPLE
  .\agent\install.ps1 -ConfigFile C:\temp\agent.json -NodePath 'D:\nodejs\node.exe'
#>
[CmdletBinding(SupportsShouldProcess = $true, DefaultParameterSetName = 'Settings')]
param(
  # An agent.json to install as is (see docs/windows.md for its fields).
  [Parameter(Mandatory = $true, ParameterSetName = 'File')]
  [string] $ConfigFile,

  # The ccs-id (server group) this server is enrolled in.
  [Parameter(Mandatory = $true, ParameterSetName = 'Settings')]
  [ValidatePattern('^[a-z0-9]+(-[a-z0-9]+)*$')]
  [string] $CcsId,

  # The deployment's CCS_QUEUE_ENDPOINT (https://<account>.queue.core.windows.net/).
  [Parameter(Mandatory = $true, ParameterSetName = 'Settings')]
  [string] $QueueServiceUri,

  # The deployment's CCS_KEY_VAULT_URL.
  [Parameter(Mandatory = $true, ParameterSetName = 'Settings')]
  [string] $KeyVaultUrl,

  # This server's allowed locations, JSON in the IIS Administration files.locations shape.
  [Parameter(ParameterSetName = 'Settings')]
  [string] $AllowedLocations = '[]',

  # The host name the agent enrols as (default: the computer's DNS host name).
  [Parameter(ParameterSetName = 'Settings')]
  [string] $HostName,

  # Client id of a user-assigned managed identity (VMs with several identities); empty: system-assigned.
  [string] $AzureClientId,

  # node.exe to run the agent with.
  [string] $NodePath,

  # The agent's folder (holds package.json, dist\ or node_modules\tsx, agent\). Default: this script's parent.
  [string] $AgentDir = (Split-Path -Parent $PSScriptRoot),

  # Where the compiled service wrapper goes (administrators-only).
  [string] $ServiceDir = (Join-Path "$env:ProgramFiles" 'CcsAgent'),

  # Configuration, state and logs.
  [string] $DataDir = (Join-Path "$env:ProgramData" 'CcsAgent'),

  [string] $ServiceName = 'CcsAgent',

  # Run as this account instead of LocalSystem: a gMSA ('CONTOSO\ccs-agent$') or a virtual account
  # ('NT SERVICE\CcsAgent'); it must be a local administrator to change IIS's configuration.
  [string] $ServiceAccount,

  [ValidateRange(1, 1024)][int] $LogMaxMegabytes = 10,
  [ValidateRange(1, 100)][int] $LogFiles = 5,

  # Send the agent's HTTPS through this proxy (http://proxy:8080): HTTPS_PROXY and NO_PROXY in the
  # service's environment, the managed identity endpoints excluded.
  [string] $Proxy,

  # More host names that bypass -Proxy (exact names, or .suffix).
  [string[]] $ProxyBypass = @(),

  # Install even when non-administrators can write to the agent's folder (not recommended).
  [switch] $SkipFolderCheck,

  # Register without starting.
  [switch] $NoStart,

  # Tests only: a module standing in for Windows (test/powershell/FakeIIS).
  [string] $TestModule
)
#Requires -RunAsAdministrator

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }
. (Join-Path -Path $PSScriptRoot -ChildPath 'service\CcsInstallCommon.ps1')

function Find-Node {
  # The first 64-bit node.exe of at least 20.19 among -NodePath, PATH, %ProgramFiles%\nodejs.
  param([string] $Given)
  $candidates = @()
  if ($Given) { $candidates += $Given }
  $onPath = Get-Command -Name node.exe -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
  if ($onPath) { $candidates += $onPath.Source }
  if ($env:ProgramFiles) { $candidates += (Join-Path $env:ProgramFiles 'nodejs\node.exe') }
  foreach ($candidate in $candidates) {
    if (-not (Test-Path -LiteralPath $candidate -PathType Leaf)) { continue }
    $said = "$(& $candidate -p "process.version + ' ' + process.arch")".Trim()
    if ($said -notmatch '^v(\d+)\.(\d+)\.\S+ (\S+)$') { Write-Warning "$candidate did not tell its version"; continue }
    $major = [int]$Matches[1]; $minor = [int]$Matches[2]; $arch = $Matches[3]
    if (@('x64', 'arm64') -notcontains $arch) {
      throw "$candidate is a $arch (32-bit) Node.js: it would read the 32-bit registry view and start the 32-bit PowerShell. Install the x64 Node.js."
    }
    if ($major -gt 20 -or ($major -eq 20 -and $minor -ge 19)) {
      return @{ Path = (Resolve-Path -LiteralPath $candidate).Path; Version = ($said -split ' ')[0] }
    }
    Write-Warning "$candidate is Node.js $said; the agent needs 20.19 or later"
  }
  throw 'Node.js 20.19 or later (x64) not found: install it, or pass -NodePath C:\path\to\node.exe'
}

function Assert-IisAdministration {
  if (@(Get-Module -ListAvailable -Name IISAdministration).Count -gt 0) { return }
  throw 'The IISAdministration PowerShell module is not available; the agent changes IIS with it. Install it with Install-WindowsFeature Web-Scripting-Tools (IIS Management Scripts and Tools), or from the PowerShell Gallery: Install-Module IISAdministration.'
}

function Get-AgentEntry {
  # The built agent (npm run build) when present, else the TypeScript through tsx.
  param([string] $Dir)
  $built = Join-Path $Dir 'dist\agent\main.js'
  if (Test-Path -LiteralPath $built -PathType Leaf) { return @($built) }
  $tsx = Join-Path $Dir 'node_modules\tsx'
  $source = Join-Path $Dir 'agent\main.ts'
  if ((Test-Path -LiteralPath $tsx) -and (Test-Path -LiteralPath $source -PathType Leaf)) { return @('--import', 'tsx', $source) }
  throw "No agent to run in ${Dir}: run 'npm ci' and 'npm run build' there first"
}

function Write-Utf8File {
  param([string] $Path, [string] $Text)
  [System.IO.File]::WriteAllText($Path, $Text, (New-Object System.Text.UTF8Encoding($false)))
}

function Find-Csc {
  $dirs = @(
    (Join-Path $env:WINDIR 'Microsoft.NET\Framework64\v4.0.30319'),
    (Join-Path $env:WINDIR 'Microsoft.NET\Framework\v4.0.30319')
  )
  foreach ($dir in $dirs) {
    $csc = Join-Path $dir 'csc.exe'
    if (Test-Path -LiteralPath $csc -PathType Leaf) { return $csc }
  }
  throw 'The .NET Framework 4.x C# compiler (csc.exe) was not found: install .NET Framework 4.6.2 or later'
}

# ------------------------------------------------------------------------------------------------

$AgentDir = (Resolve-Path -LiteralPath $AgentDir).Path

Write-Step 'Node.js and IISAdministration'
$node = Find-Node -Given $NodePath
Write-Host "    $($node.Path) ($($node.Version))"
$entry = @(Get-AgentEntry -Dir $AgentDir)
Assert-IisAdministration

Write-Step "Who can change the code the service runs: $AgentDir, $(Split-Path -Parent $node.Path)"
$writers = @(Get-CcsWriters -Path $AgentDir -Recurse) + @(Get-CcsWriters -Path (Split-Path -Parent $node.Path) -Recurse)
if ($writers.Count -gt 0) {
  $shown = ($writers | Select-Object -First 5) -join '; '
  $message = "Non-administrators can change the code the service runs as LocalSystem ($shown). Install the agent and Node.js under $env:ProgramFiles, or remove those write rights."
  if (-not $SkipFolderCheck) { throw $message }
  Write-Warning $message
}
Get-ChildItem -LiteralPath $AgentDir -Recurse -Include '*.ps1', '*.psm1' -File -ErrorAction SilentlyContinue |
  Where-Object { $_.FullName -notmatch '[\\/]node_modules[\\/]' } | Unblock-File

Write-Step "Configuration in $DataDir"
$configPath = Join-Path $DataDir 'agent.json'
$logsDir = Join-Path $DataDir 'logs'
if ($PSCmdlet.ShouldProcess($DataDir, 'create and restrict to Administrators and SYSTEM')) {
  New-Item -ItemType Directory -Path $DataDir -Force | Out-Null
  New-Item -ItemType Directory -Path $logsDir -Force | Out-Null
  Set-AdminOnlyAcl -Path $DataDir

  if ($PSCmdlet.ParameterSetName -eq 'File') {
    $text = [System.IO.File]::ReadAllText((Resolve-Path -LiteralPath $ConfigFile).Path)
    $null = ConvertFrom-Json -InputObject $text  # fail here on malformed JSON, not in the service
  }
  else {
    $locations = ConvertFrom-Json -InputObject $AllowedLocations
    $config = [ordered]@{
      ccsId            = $CcsId
      storage          = [ordered]@{ queueServiceUri = $QueueServiceUri }
      keyVault         = [ordered]@{ url = $KeyVaultUrl }
      backend          = 'powershell'
      allowedLocations = @($locations)
      stateDir         = $DataDir
    }
    if ($HostName) { $config.hostName = $HostName }
    $text = ConvertTo-Json -InputObject $config -Depth 6
  }
  Write-Utf8File -Path $configPath -Text $text
  Set-AdminOnlyAcl -Path $DataDir
}

Write-Step "Service wrapper in $ServiceDir"
$wrapper = Join-Path $ServiceDir 'CcsAgentService.exe'
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne 'Stopped' -and $PSCmdlet.ShouldProcess($ServiceName, 'stop for the update')) {
  Stop-Service -Name $ServiceName -Force
  (Get-Service -Name $ServiceName).WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
}
if ($PSCmdlet.ShouldProcess($wrapper, 'compile agent\service\CcsAgentService.cs')) {
  New-Item -ItemType Directory -Path $ServiceDir -Force | Out-Null
  $csc = Find-Csc
  $source = Join-Path $AgentDir 'agent\service\CcsAgentService.cs'
  $compilerOutput = & $csc /nologo /target:exe /optimize+ /platform:anycpu "/out:$wrapper" /reference:System.ServiceProcess.dll $source 2>&1
  if ($LASTEXITCODE -ne 0) { throw "Compiling the service wrapper failed:`n$($compilerOutput -join "`n")" }
}

Write-Step "Event Log source $ServiceName"
# What EventLog.CreateEventSource writes: the source's key under the Application log, with the
# .NET Framework's message file (works the same from Windows PowerShell 5.1 and pwsh 7).
$sourceKey = "HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Application\$ServiceName"
if ($PSCmdlet.ShouldProcess($ServiceName, 'register Event Log source')) {
  New-Item -Path $sourceKey -Force | Out-Null
  New-ItemProperty -Path $sourceKey -Name 'EventMessageFile' -PropertyType ExpandString -Value '%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll' -Force | Out-Null
}

Write-Step "Service $ServiceName"
$wrapperArgs = @('--name', $ServiceName, '--node', $node.Path, '--workdir', $AgentDir, '--logs', $logsDir,
  '--log-max-mb', "$LogMaxMegabytes", '--log-files', "$LogFiles", '--') + $entry + @('run', '--config', $configPath)
$binaryPath = (ConvertTo-ArgumentString @($wrapper)) + ' ' + (ConvertTo-ArgumentString $wrapperArgs)
$account = 'LocalSystem'
if ($ServiceAccount) { $account = $ServiceAccount }
if ($PSCmdlet.ShouldProcess($ServiceName, 'register the service')) {
  if ($existing) {
    # Named arguments through CIM: the path reaches the SCM exactly as built, quotes included.
    $null = Invoke-ServiceMethod -Name $ServiceName -Method 'Change' -Arguments @{ PathName = $binaryPath; StartMode = 'Automatic' }
  }
  else {
    New-Service -Name $ServiceName -BinaryPathName $binaryPath -DisplayName 'CCS agent (IIS Central Certificate Store)' `
      -Description 'Applies the cloud-managed IIS Central Certificate Store settings of this server (ccs-fleet agent).' `
      -StartupType Automatic | Out-Null
  }
  # Delayed start (no quoted argument: nothing for 5.1 to mangle).
  & sc.exe config $ServiceName start= delayed-auto | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "sc.exe config start= delayed-auto failed (exit code $LASTEXITCODE)" }
  # The account, through CIM too (a gMSA takes an empty password, which 5.1 drops from native arguments).
  $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='$ServiceName'"
  if ($service.StartName -ne $account) {
    $null = Invoke-ServiceMethod -Name $ServiceName -Method 'Change' -Arguments @{ StartName = $account; StartPassword = $null }
  }
  # Restart on failure: 10 s, 30 s, then every 60 s; the failure count resets after a day. The
  # failure flag also applies the actions when the service stops with a non-zero exit code.
  & sc.exe failure $ServiceName reset= 86400 actions= restart/10000/restart/30000/restart/60000 | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "sc.exe failure failed (exit code $LASTEXITCODE)" }
  & sc.exe failureflag $ServiceName 1 | Out-Null

  # The service's own environment (HKLM\SYSTEM\CurrentControlSet\Services\<name>\Environment).
  # Azure Arc sets IDENTITY_ENDPOINT/IMDS_ENDPOINT machine-wide, but services only see new machine
  # variables after a restart of Windows: copy them here so the managed identity works at once.
  $environment = @()
  $identityEndpoints = @()
  foreach ($name in 'IDENTITY_ENDPOINT', 'IMDS_ENDPOINT') {
    $value = Get-MachineEnvironment -Name $name
    if ($value) { $environment += "$name=$value"; $identityEndpoints += $value }
  }
  if ($AzureClientId) { $environment += "AZURE_CLIENT_ID=$AzureClientId" }
  if ($Proxy) { $environment += Get-ProxyEnvironment -Proxy $Proxy -Bypass $ProxyBypass -IdentityEndpoints $identityEndpoints }
  $serviceKey = "HKLM:\SYSTEM\CurrentControlSet\Services\$ServiceName"
  if ($environment.Count -gt 0) {
    New-ItemProperty -Path $serviceKey -Name 'Environment' -PropertyType MultiString -Value $environment -Force | Out-Null
  }
  else {
    Remove-ItemProperty -Path $serviceKey -Name 'Environment' -ErrorAction SilentlyContinue
  }
}

if (-not $NoStart -and $PSCmdlet.ShouldProcess($ServiceName, 'start')) {
  Start-Service -Name $ServiceName
  Write-Host "    started; log: $(Join-Path $logsDir 'agent.log'); events: Application log, source $ServiceName"
}
$statusCommand = ConvertTo-ArgumentString (@($node.Path) + $entry + @('status', '--config', $configPath))
Write-Host "Done. This host's state, as administrator, from ${AgentDir}: & $statusCommand"
