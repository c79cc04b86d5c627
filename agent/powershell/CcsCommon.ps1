<#
.SYNOPSIS
  Shared by the agent's PowerShell scripts (dot-sourced, never run on its own).

.DESCRIPTION
  The protocol between the agent (Node.js) and every script in this folder:

  - The agent starts `powershell.exe` (or `pwsh`) with
    `-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <script>`; nothing secret is
    ever on that command line or in the environment.
  - Input: one JSON object on stdin (UTF-8, ASCII-escaped by the agent). Secrets travel only there
    and are turned into SecureString here, character by character: no cmdlet ever receives a
    secret as plain text, so PowerShell module logging (event 4103) and transcripts cannot record
    one, and the input text is parsed with a .NET method call, not with ConvertFrom-Json.
  - Output: exactly one JSON object, the last line on stdout:
      { "ok": true,  "result": { ... } }
      { "ok": false, "error": { "code": "<stable code>", "message": "...", "cmdlet": "...",
                                "win32": <int|null>, "rebootRequired": <bool> } }
  - Exit code: 0 success, 1 failure, 3010 when Windows must restart (the Windows Installer and
    Server Manager convention), so even a lost stdout still says "reboot required".

  Test mode: a script given `-TestModule <path>` imports that module first. It stands in for
  IISAdministration and the Windows feature cmdlets on machines without IIS (the agent's tests);
  the agent's configuration cannot set it (only the test harness passes it), and without it the
  scripts load IISAdministration by name and nothing else.
#>

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$ConfirmPreference = 'None'

# The Windows feature that provides the Central Certificate Store, by installer.
$script:CcsServerFeature = 'Web-CertProvider'   # Install-WindowsFeature (Windows Server)
$script:CcsClientFeature = 'IIS-CertProvider'   # Enable-WindowsOptionalFeature (Windows 10/11)
$script:CcsTestMode = $false

# A failure with a stable code: the scripts throw these, Invoke-CcsMain turns them into JSON.
# A plain exception marked in its Data dictionary (no PowerShell class: same on 5.1 and 7).
function New-CcsError {
  param(
    [Parameter(Mandatory = $true)][string] $Code,
    [Parameter(Mandatory = $true)][string] $Message,
    [string] $Cmdlet,
    [System.Exception] $Inner,
    [switch] $RebootRequired
  )
  if ($null -ne $Inner) { $e = New-Object System.Exception -ArgumentList @($Message, $Inner) }
  else { $e = New-Object System.Exception -ArgumentList @($Message) }
  $e.Data['CcsCode'] = $Code
  $e.Data['CcsCmdlet'] = $Cmdlet
  $e.Data['CcsRebootRequired'] = [bool]$RebootRequired
  return $e
}

# ------------------------------------------------------------------------------------------------
# Input

function Read-CcsInput {
  # Raw bytes from stdin, decoded as UTF-8 whatever the console code page is.
  $stdin = [System.Console]::OpenStandardInput()
  $buffer = New-Object System.IO.MemoryStream
  $stdin.CopyTo($buffer)
  $text = [System.Text.Encoding]::UTF8.GetString($buffer.ToArray()).Trim([char]0xFEFF, ' ', "`r", "`n", "`t")
  if ($text -eq '') { return New-Object PSObject }
  $parseError = $null
  # The JSON parser behind ConvertFrom-Json, called as a method: a cmdlet call would expose the
  # text (and the secrets in it) to module logging.
  $parsed = [Microsoft.PowerShell.Commands.JsonObject]::ConvertFromJson($text, [ref]$parseError)
  if ($null -ne $parseError -or $null -eq $parsed -or $parsed -isnot [System.Management.Automation.PSCustomObject]) {
    throw (New-CcsError -Code 'InvalidInput' -Message 'stdin must hold one JSON object')
  }
  return $parsed
}

function Get-CcsField {
  param([Parameter(Mandatory = $true)] $Object, [Parameter(Mandatory = $true)][string] $Name, $Default = $null)
  $property = $Object.PSObject.Properties[$Name]
  if ($null -eq $property) { return $Default }
  return $property.Value
}

function Get-CcsString {
  param(
    [Parameter(Mandatory = $true)] $Object,
    [Parameter(Mandatory = $true)][string] $Name,
    [switch] $AllowNull,
    [switch] $AllowEmpty
  )
  $value = Get-CcsField -Object $Object -Name $Name
  if ($null -eq $value) {
    if ($AllowNull) { return $null }
    throw (New-CcsError -Code 'InvalidInput' -Message "input field '$Name' is required")
  }
  if ($value -isnot [string]) {
    throw (New-CcsError -Code 'InvalidInput' -Message "input field '$Name' must be a string")
  }
  if ($value -eq '' -and -not $AllowEmpty) {
    throw (New-CcsError -Code 'InvalidInput' -Message "input field '$Name' must not be empty")
  }
  return $value
}

function ConvertTo-CcsSecureString {
  # Char by char: ConvertTo-SecureString -AsPlainText would hand the plain text to a cmdlet (module
  # logging) and refuses the empty string, which the private-key password may legitimately be.
  param([AllowNull()][AllowEmptyString()][string] $Text)
  $secure = New-Object System.Security.SecureString
  if ($null -ne $Text) {
    foreach ($c in $Text.ToCharArray()) { $secure.AppendChar($c) }
  }
  $secure.MakeReadOnly()
  return , $secure
}

# ------------------------------------------------------------------------------------------------
# Output

function ConvertTo-CcsJsonLine {
  param([Parameter(Mandatory = $true)] $Value)
  $json = ConvertTo-Json -InputObject $Value -Depth 8 -Compress
  # ASCII only, whatever the console's output code page (Windows PowerShell uses the OEM one).
  $evaluator = [System.Text.RegularExpressions.MatchEvaluator] { param($m) '\u{0:x4}' -f [int][char]$m.Value }
  return [System.Text.RegularExpressions.Regex]::Replace($json, '[^\x00-\x7F]', $evaluator)
}

function Write-CcsLine {
  param([Parameter(Mandatory = $true)][string] $Line)
  $bytes = [System.Text.Encoding]::ASCII.GetBytes("`n" + $Line + "`n")
  $stdout = [System.Console]::OpenStandardOutput()
  $stdout.Write($bytes, 0, $bytes.Length)
  $stdout.Flush()
}

function Get-CcsWin32Code {
  # The Win32 error code behind an exception, when there is one (logon failures, missing paths).
  param([System.Exception] $Exception)
  $e = $Exception
  while ($null -ne $e) {
    if ($e -is [System.ComponentModel.Win32Exception]) { return $e.NativeErrorCode }
    if ($e -is [System.IO.IOException] -and ($e.HResult -band 0xFFFF0000) -eq 0x80070000) { return $e.HResult -band 0xFFFF }
    $e = $e.InnerException
  }
  return $null
}

function Invoke-CcsMain {
  <#
    Runs a script's body and writes the one JSON answer. The body returns the result object;
    whatever else it emits is discarded so that stray pipeline output can never corrupt stdout.
  #>
  param([Parameter(Mandatory = $true)][scriptblock] $Body, [string] $TestModule)
  $exitCode = 0
  $answer = $null
  try {
    if ($TestModule) {
      $script:CcsTestMode = $true
      Import-Module -Name $TestModule -Global -Force -DisableNameChecking -ErrorAction Stop
    }
    $outputs = @(& $Body)
    $result = $null
    if ($outputs.Count -gt 0) { $result = $outputs[$outputs.Count - 1] }
    $answer = [ordered]@{ ok = $true; result = $result }
  }
  catch {
    $exception = $_.Exception
    $ccs = $null
    $e = $exception
    while ($null -ne $e) {
      if ($e.Data.Contains('CcsCode')) { $ccs = $e; break }
      $e = $e.InnerException
    }
    if ($null -ne $ccs) {
      $code = [string]$ccs.Data['CcsCode']
      $cmdlet = $ccs.Data['CcsCmdlet']
      $reboot = [bool]$ccs.Data['CcsRebootRequired']
      $message = $ccs.Message
      if ($null -ne $ccs.InnerException) { $message = $message + ': ' + $ccs.InnerException.Message }
    }
    else {
      $code = 'Unexpected'
      $cmdlet = $null
      if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.MyCommand) { $cmdlet = $_.InvocationInfo.MyCommand.Name }
      $reboot = $false
      $message = $exception.Message
    }
    $answer = [ordered]@{
      ok    = $false
      error = [ordered]@{
        code           = $code
        message        = [string]$message
        cmdlet         = $cmdlet
        win32          = (Get-CcsWin32Code -Exception $exception)
        rebootRequired = [bool]$reboot
      }
    }
    $exitCode = 1
    if ($reboot) { $exitCode = 3010 }
  }
  Write-CcsLine -Line (ConvertTo-CcsJsonLine -Value $answer)
  exit $exitCode
}

# ------------------------------------------------------------------------------------------------
# Windows: SKU, the CCS feature, reboot state

$script:CcsOs = $null

function Get-CcsOs {
  <#
    @{ productType; version } of Windows, read once per run. productType: 1 = workstation
    (Windows 10/11: DISM optional features), 2 = domain controller, 3 = server. version:
    '10.0.17763' (the certificates API uses it to flag PFX encryption older hosts cannot read).
  #>
  if ($null -eq $script:CcsOs) {
    try {
      $os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop
    }
    catch {
      throw (New-CcsError -Code 'FeatureCheckFailed' -Message 'Cannot tell Windows Server from a client SKU (Win32_OperatingSystem)' -Cmdlet 'Get-CimInstance' -Inner $_.Exception)
    }
    $script:CcsOs = @{ productType = [int]$os.ProductType; version = [string]$os.Version }
  }
  return $script:CcsOs
}

function Test-CcsRestartNeeded {
  # Install-WindowsFeature: RestartNeeded 'Yes' / ExitCode 3010 (SuccessRestartRequired);
  # Enable-WindowsOptionalFeature: RestartNeeded $true. Objects from Windows PowerShell
  # compatibility (pwsh) arrive deserialized, as strings: both forms are accepted.
  param($Result)
  if ($null -eq $Result) { return $false }
  $restart = Get-CcsField -Object $Result -Name 'RestartNeeded'
  if ($restart -is [bool] -and $restart) { return $true }
  if ($null -ne $restart -and "$restart" -in @('Yes', 'True', 'Maybe')) { return $true }
  $exitCode = Get-CcsField -Object $Result -Name 'ExitCode'
  if ($null -ne $exitCode) {
    if ("$exitCode" -eq 'SuccessRestartRequired' -or "$exitCode" -eq '3010') { return $true }
    try { if ([int]$exitCode -eq 3010) { return $true } } catch { Write-Debug 'ExitCode is not a number' }
  }
  return $false
}

function Get-CcsFeatureState {
  <#
    Whether the CCS feature is installed, and whether it waits for a restart:
    @{ installed; pending; name; installer }.
  #>
  if ((Get-CcsOs).productType -eq 1) {
    try {
      $feature = Get-WindowsOptionalFeature -Online -FeatureName $script:CcsClientFeature -ErrorAction Stop
    }
    catch {
      throw (New-CcsError -Code 'FeatureCheckFailed' -Message "Cannot read the state of the $script:CcsClientFeature feature" -Cmdlet 'Get-WindowsOptionalFeature' -Inner $_.Exception)
    }
    $state = "$(Get-CcsField -Object $feature -Name 'State')"
    return @{
      installed = ($state -eq 'Enabled')
      pending   = ($state -eq 'EnablePending') -or (Test-CcsRestartNeeded $feature)
      name      = $script:CcsClientFeature
      installer = 'Enable-WindowsOptionalFeature'
    }
  }
  try {
    $feature = Get-WindowsFeature -Name $script:CcsServerFeature -ErrorAction Stop
  }
  catch {
    throw (New-CcsError -Code 'FeatureCheckFailed' -Message "Cannot read the state of the $script:CcsServerFeature feature" -Cmdlet 'Get-WindowsFeature' -Inner $_.Exception)
  }
  if ($null -eq $feature) {
    throw (New-CcsError -Code 'FeatureUnavailable' -Message "This Windows edition does not offer the $script:CcsServerFeature feature" -Cmdlet 'Get-WindowsFeature')
  }
  $installState = "$(Get-CcsField -Object $feature -Name 'InstallState')"
  return @{
    installed = ($installState -eq 'Installed') -or ((Get-CcsField -Object $feature -Name 'Installed') -eq $true -and $installState -ne 'InstallPending')
    pending   = ($installState -eq 'InstallPending')
    name      = $script:CcsServerFeature
    installer = 'Install-WindowsFeature'
  }
}

# ------------------------------------------------------------------------------------------------
# IISAdministration

function Import-CcsIisModule {
  if ($script:CcsTestMode) { return }  # the test module provides the cmdlets
  try {
    Import-Module -Name IISAdministration -ErrorAction Stop -WarningAction SilentlyContinue
  }
  catch {
    throw (New-CcsError -Code 'ModuleUnavailable' -Message 'The IISAdministration PowerShell module cannot be loaded (install IIS Management Scripts and Tools: Install-WindowsFeature Web-Scripting-Tools, or Install-Module IISAdministration)' -Cmdlet 'Import-Module' -Inner $_.Exception)
  }
}

function Invoke-CcsCmdlet {
  # Runs one IIS cmdlet; a failure keeps the cmdlet's name and becomes CmdletFailed.
  param([Parameter(Mandatory = $true)][string] $Name, [hashtable] $Parameters = @{})
  try {
    return (& $Name @Parameters -ErrorAction Stop)
  }
  catch {
    throw (New-CcsError -Code 'CmdletFailed' -Message "$Name failed" -Cmdlet $Name -Inner $_.Exception)
  }
}

# ------------------------------------------------------------------------------------------------
# State, from the registry where IIS keeps it (never by parsing Get-IISCentralCertProvider, whose
# documented output is System.String). The same keys as agent/backends/iis-registry.ts.

$script:CcsProviderKey = 'SOFTWARE\Microsoft\IIS\CentralCertProvider'
$script:CcsComponentsKey = 'SOFTWARE\Microsoft\InetStp\Components'
$script:CcsRebootPendingKey = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'

function Read-CcsRegistry {
  <#
    The named values of HKLM\<Key> in the 64-bit view, as @{ name = value } (absent values left
    out), or $null when the key does not exist. The view is explicit: a 32-bit PowerShell would
    otherwise read Wow6432Node.
  #>
  param([Parameter(Mandatory = $true)][string] $Key, [string[]] $Names = @())
  if ($script:CcsTestMode) { return (Read-FakeRegistry -Key $Key -Names $Names) }
  $hive = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
  try {
    $sub = $hive.OpenSubKey($Key, $false)
    if ($null -eq $sub) { return $null }
    try {
      $values = @{}
      foreach ($name in $Names) {
        $value = $sub.GetValue($name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        if ($null -ne $value) { $values[$name] = $value }
      }
      return $values
    }
    finally { $sub.Dispose() }
  }
  finally { $hive.Dispose() }
}

function Get-CcsProvider {
  <# @{ Enabled; CertStoreLocation; UserName } from HKLM\SOFTWARE\Microsoft\IIS\CentralCertProvider. #>
  $values = Read-CcsRegistry -Key $script:CcsProviderKey -Names @('Enabled', 'CertStoreLocation', 'UserName')
  if ($null -eq $values) { $values = @{} }
  $enabled = $values['Enabled']
  if ($null -ne $enabled -and $enabled -isnot [int]) {
    throw (New-CcsError -Code 'UnexpectedState' -Message "HKLM\$($script:CcsProviderKey)\Enabled is not a DWORD")
  }
  $path = $values['CertStoreLocation']
  $user = $values['UserName']
  return @{
    Enabled           = ($null -ne $enabled -and $enabled -ne 0)
    CertStoreLocation = $(if ([string]::IsNullOrEmpty($path)) { $null } else { [string]$path })
    UserName          = $(if ([string]::IsNullOrEmpty($user)) { $null } else { [string]$user })
  }
}

function Get-CcsActualState {
  <# The ActualState the agent reports (as agent/backends/iis-registry.ts reads it): never a password. #>
  $components = Read-CcsRegistry -Key $script:CcsComponentsKey -Names @('CertProvider')
  $installed = $null -ne $components -and $components['CertProvider'] -eq 1
  $state = [ordered]@{
    enabled          = $false
    path             = $null
    username         = $null
    featureInstalled = [bool]$installed
    rebootRequired   = (-not $installed) -and ($null -ne (Read-CcsRegistry -Key $script:CcsRebootPendingKey))
  }
  $version = (Get-CcsOs).version
  if ($version) { $state.osVersion = $version }
  if (-not $installed) { return $state }
  $provider = Get-CcsProvider
  $state.enabled = [bool]$provider.Enabled
  $state.path = $provider.CertStoreLocation
  $state.username = $provider.UserName
  return $state
}
