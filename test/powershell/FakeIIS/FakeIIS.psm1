<#
.SYNOPSIS
  TEST DOUBLE. Stands in for a Windows Server with IIS so that the agent's PowerShell (the backend
  scripts, install.ps1, uninstall.ps1, the Windows job's steps) runs for real in pwsh on machines
  without Windows. It follows Windows' documented behaviour, failures included; each behaviour
  names its source beside it.

.DESCRIPTION
  Same command names and parameter types as the real ones (SecureString, PSCredential), so
  parameter binding and conversions are exercised exactly as on Windows. Everything lives in the
  JSON file named by $env:CCS_FAKEIIS_STATE, which the agent's tests read and write too:

    productType   1 (client SKU) or 3 (server), default 3
    feature       'Available' | 'Installed' | 'InstallPending'      (Web-CertProvider / IIS-CertProvider)
    install       'ok' | 'restart' | 'fail'                          (what installing the feature does)
    getOutput     'text' (default: documented as System.String) | 'object'
    registry      { "<key under HKLM>": { "<value>": { type: "REG_DWORD"|"REG_SZ"|..., data } } }
                  (the 64-bit view; the IIS cmdlets and the feature installer write it, the agent's
                  node-side reader reads it; passwords are kept in clear here, test only)
    shares        { "\\server\share": "<local folder>" }   drives  { "D:": "<local folder>" }
    accounts      { "DOMAIN\user": { password, shares: [...], restriction? } }
                  restriction: 'disabled' | 'locked-out' | 'password-expired' | 'no-logon-right'
    windows       { computerAccount, sessions: { id: { user } }, connections: [ { session, server,
                  share, user, explicit } ] }   (logon sessions and their SMB connections)
    services, acl, machineEnvironment, modules   (the installer's world: FakeIIS.Service.ps1)
    behaviour     { "<command>": { fail: "<message>", win32: <code>, hang: true, delayMs: <n> } }
    calls         [ { command, parameters: { <name>: "<type or value>" } } ]   (appended by every call)

  Only the test harness passes this module's path to the scripts (-TestModule); the agent's
  configuration cannot.
#>
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Read-FakeState {
  $file = $env:CCS_FAKEIIS_STATE
  if (-not $file) { throw 'CCS_FAKEIIS_STATE is not set' }
  if (-not (Test-Path -LiteralPath $file)) { return @{} }
  $text = [System.IO.File]::ReadAllText($file)
  if ($text.Trim() -eq '') { return @{} }
  return (ConvertFrom-Json -InputObject $text -AsHashtable)
}

function Save-FakeState {
  param([Parameter(Mandatory = $true)][System.Collections.IDictionary] $State)
  $file = $env:CCS_FAKEIIS_STATE
  $temp = "$file.$PID.tmp"
  [System.IO.File]::WriteAllText($temp, (ConvertTo-Json -InputObject $State -Depth 12))
  Move-Item -LiteralPath $temp -Destination $file -Force
}

function Get-FakeValue {
  param([System.Collections.IDictionary] $Table, [string] $Key, $Default = $null)
  if ($null -ne $Table -and $Table.Contains($Key) -and $null -ne $Table[$Key]) { return $Table[$Key] }
  return $Default
}

function Get-FakeEntry {
  # A dictionary entry by key, case-insensitively (Windows names: accounts, shares, registry keys).
  param([System.Collections.IDictionary] $Table, [string] $Key)
  if ($null -eq $Table) { return $null }
  foreach ($name in @($Table.Keys)) { if ($name -ieq $Key) { return $Table[$name] } }
  return $null
}

function ConvertFrom-FakeSecureString {
  param([System.Security.SecureString] $Secure)
  if ($null -eq $Secure) { return $null }
  return [System.Net.NetworkCredential]::new('', $Secure).Password
}

function Add-FakeCall {
  param([System.Collections.IDictionary] $State, [string] $Command, [System.Collections.IDictionary] $Parameters)
  $calls = [System.Collections.ArrayList]::new()
  foreach ($call in @(Get-FakeValue $State 'calls' @())) { [void]$calls.Add($call) }
  [void]$calls.Add([ordered]@{ command = $Command; parameters = $Parameters })
  $State.calls = $calls
}

function Enter-FakeCommand {
  <# Records the call (parameter names and .NET types, never values), then plays its behaviour. #>
  param([Parameter(Mandatory = $true)][string] $Command, [System.Collections.IDictionary] $Bound = @{})
  $state = Read-FakeState
  $parameters = [ordered]@{}
  foreach ($key in $Bound.Keys) {
    $value = $Bound[$key]
    $parameters[$key] = if ($null -eq $value) { 'null' } else { $value.GetType().FullName }
  }
  Add-FakeCall -State $state -Command $Command -Parameters $parameters
  Save-FakeState $state

  $behaviour = Get-FakeValue (Get-FakeValue $state 'behaviour' @{}) $Command @{}
  $delay = Get-FakeValue $behaviour 'delayMs' 0
  if ($delay -gt 0) { Start-Sleep -Milliseconds $delay }
  if (Get-FakeValue $behaviour 'hang' $false) { Start-Sleep -Seconds 3600 }
  $win32 = Get-FakeValue $behaviour 'win32' 0
  if ($win32 -ne 0) { throw [System.ComponentModel.Win32Exception]::new([int]$win32) }
  $fail = Get-FakeValue $behaviour 'fail' $null
  if ($null -ne $fail) { throw [System.InvalidOperationException]::new([string]$fail) }
  return $state
}

function New-FakeWin32Error {
  param([int] $Code)
  return [System.ComponentModel.Win32Exception]::new($Code)
}

. (Join-Path $PSScriptRoot 'FakeIIS.Registry.ps1')
. (Join-Path $PSScriptRoot 'FakeIIS.Features.ps1')
. (Join-Path $PSScriptRoot 'FakeIIS.Logon.ps1')
. (Join-Path $PSScriptRoot 'FakeIIS.Service.ps1')
. (Join-Path $PSScriptRoot 'FakeIIS.Accounts.ps1')

Export-ModuleMember -Function @(
  # IISAdministration
  'Get-IISCentralCertProvider', 'Enable-IISCentralCertProvider', 'Set-IISCentralCertProvider',
  'Disable-IISCentralCertProvider', 'Clear-IISCentralCertProvider',
  # the registry (scripts' test seam) and the registry provider cmdlets the installer uses
  'Read-FakeRegistry', 'Get-ItemProperty', 'New-ItemProperty', 'Remove-ItemProperty', 'New-Item', 'Remove-Item',
  # SKU and features
  'Get-CimInstance', 'Invoke-CimMethod', 'Get-WindowsFeature', 'Install-WindowsFeature',
  'Get-WindowsOptionalFeature', 'Enable-WindowsOptionalFeature',
  # logon sessions and SMB
  'Use-FakeStoreProbe', 'New-PSDrive', 'Remove-PSDrive',
  # the installer's world
  'Get-Service', 'New-Service', 'Start-Service', 'Stop-Service', 'Get-Acl', 'Get-Module', 'Unblock-File',
  'sc.exe', 'icacls.exe',
  # the Windows job's world
  'New-LocalUser', 'Set-LocalUser', 'New-SmbShare', 'New-WebBinding'
)
