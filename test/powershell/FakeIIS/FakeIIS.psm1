<#
.SYNOPSIS
  TEST DOUBLE. Stands in for the IISAdministration module and the Windows feature cmdlets so that
  agent/powershell/*.ps1 run for real in pwsh on machines without IIS (the agent's tests).

.DESCRIPTION
  Same command names and parameter types as the real ones (SecureString included), so parameter
  binding and SecureString conversion are exercised exactly as on Windows. State lives in the JSON
  file named by $env:CCS_FAKEIIS_STATE:

    productType   1 (client SKU: DISM optional features) or 3 (server: Server Manager), default 3
    osVersion     Win32_OperatingSystem.Version, default '10.0.20348' (Windows Server 2022)
    feature       'Available' | 'Installed' | 'InstallPending'           (Web-CertProvider / IIS-CertProvider)
    install       'ok' | 'restart' | 'fail'                              (what installing the feature does)
    provider      { Enabled, CertStoreLocation, UserName, Password, PrivateKeyPassword }
                  (the passwords are kept in clear here, test only, so tests can check the conversion)
    getOutput     'object' | 'text'                                      (Get-IISCentralCertProvider's output form)
    shares        { "\\server\share": "<local folder>" }                 (what New-PSDrive maps)
    accounts      { "DOMAIN\user": { password, shares: ["\\server\share"] } }
    behaviour     { "<command>": { fail: "<message>", win32: <code>, hang: true, delayMs: <n> } }
    calls         [ { command, parameters: { <name>: "<type>" } } ]      (appended by every call)

  The agent's configuration can never load this module: only the test harness passes its path to
  the scripts (-TestModule).
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
  [System.IO.File]::WriteAllText($temp, (ConvertTo-Json -InputObject $State -Depth 10))
  Move-Item -LiteralPath $temp -Destination $file -Force
}

function Get-FakeValue {
  param([System.Collections.IDictionary] $Table, [string] $Key, $Default = $null)
  if ($null -ne $Table -and $Table.Contains($Key) -and $null -ne $Table[$Key]) { return $Table[$Key] }
  return $Default
}

function ConvertFrom-FakeSecureString {
  param([System.Security.SecureString] $Secure)
  if ($null -eq $Secure) { return $null }
  return [System.Net.NetworkCredential]::new('', $Secure).Password
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
  $calls = [System.Collections.ArrayList]::new()
  foreach ($call in @(Get-FakeValue $state 'calls' @())) { [void]$calls.Add($call) }
  [void]$calls.Add([ordered]@{ command = $Command; parameters = $parameters })
  $state.calls = $calls
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

function Get-FakeProvider {
  param([System.Collections.IDictionary] $State)
  $provider = Get-FakeValue $State 'provider' @{}
  foreach ($key in 'Enabled', 'CertStoreLocation', 'UserName', 'Password', 'PrivateKeyPassword') {
    if (-not $provider.Contains($key)) { $provider[$key] = if ($key -eq 'Enabled') { $false } else { $null } }
  }
  return $provider
}

function Assert-FakeFeatureInstalled {
  param([System.Collections.IDictionary] $State)
  if ((Get-FakeValue $State 'feature' 'Available') -ne 'Installed') {
    throw [System.InvalidOperationException]::new('The Central Certificate Store feature is not installed')
  }
}

# ------------------------------------------------------------------------------------------------
# IISAdministration

function Get-IISCentralCertProvider {
  [CmdletBinding()]
  param([switch] $CertStoreLocation, [switch] $UserName, [switch] $PrivateKeyPassword, [switch] $Enabled)
  $state = Enter-FakeCommand 'Get-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $p = Get-FakeProvider $state
  $masked = if ($p.PrivateKeyPassword) { '*********' } else { '' }
  if ((Get-FakeValue $state 'getOutput' 'object') -eq 'text') {
    return @(
      "Enabled           : $($p.Enabled)",
      "CertStoreLocation : $($p.CertStoreLocation)",
      "UserName          : $($p.UserName)",
      "PrivateKeyPassword: $masked"
    )
  }
  return [pscustomobject][ordered]@{
    Enabled            = [bool]$p.Enabled
    CertStoreLocation  = $p.CertStoreLocation
    UserName           = $p.UserName
    PrivateKeyPassword = $masked
  }
}

function Enable-IISCentralCertProvider {
  [CmdletBinding()]
  param(
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][string] $CertStoreLocation,
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][string] $UserName,
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $Password,
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $PrivateKeyPassword
  )
  $state = Enter-FakeCommand 'Enable-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $state.provider = [ordered]@{
    Enabled            = $true
    CertStoreLocation  = $CertStoreLocation
    UserName           = $UserName
    Password           = ConvertFrom-FakeSecureString $Password
    PrivateKeyPassword = ConvertFrom-FakeSecureString $PrivateKeyPassword
  }
  Save-FakeState $state
}

function Set-IISCentralCertProvider {
  [CmdletBinding()]
  param(
    [Parameter(ValueFromPipelineByPropertyName = $true)][string] $CertStoreLocation,
    [Parameter(ValueFromPipelineByPropertyName = $true)][string] $UserName,
    [Parameter(ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $Password,
    [Parameter(ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $PrivateKeyPassword
  )
  $state = Enter-FakeCommand 'Set-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $p = Get-FakeProvider $state
  if ($PSBoundParameters.ContainsKey('CertStoreLocation')) { $p.CertStoreLocation = $CertStoreLocation }
  if ($PSBoundParameters.ContainsKey('UserName')) { $p.UserName = $UserName }
  if ($PSBoundParameters.ContainsKey('Password')) { $p.Password = ConvertFrom-FakeSecureString $Password }
  if ($PSBoundParameters.ContainsKey('PrivateKeyPassword')) { $p.PrivateKeyPassword = ConvertFrom-FakeSecureString $PrivateKeyPassword }
  $state.provider = $p
  Save-FakeState $state
}

function Disable-IISCentralCertProvider {
  [CmdletBinding()]
  param()
  $state = Enter-FakeCommand 'Disable-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $p = Get-FakeProvider $state
  $p.Enabled = $false
  $state.provider = $p
  Save-FakeState $state
}

function Clear-IISCentralCertProvider {
  [CmdletBinding()]
  param([switch] $Force)
  $state = Enter-FakeCommand 'Clear-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $p = Get-FakeProvider $state
  if ($p.Enabled -and -not $Force) {
    throw [System.InvalidOperationException]::new('The central certificate store is enabled: specify -Force to clear it')
  }
  $state.provider = [ordered]@{ Enabled = $false; CertStoreLocation = $null; UserName = $null; Password = $null; PrivateKeyPassword = $null }
  Save-FakeState $state
}

# ------------------------------------------------------------------------------------------------
# The SKU and the feature cmdlets (ServerManager, Dism)

function Get-CimInstance {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string] $ClassName)
  $state = Enter-FakeCommand 'Get-CimInstance' $PSBoundParameters
  if ($ClassName -ne 'Win32_OperatingSystem') { throw [System.NotSupportedException]::new("fake: class $ClassName") }
  return [pscustomobject]@{
    Caption     = 'Fake Windows'
    ProductType = [int](Get-FakeValue $state 'productType' 3)
    Version     = [string](Get-FakeValue $state 'osVersion' '10.0.20348')
  }
}

function Get-WindowsFeature {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]] $Name)
  $state = Enter-FakeCommand 'Get-WindowsFeature' $PSBoundParameters
  if ((Get-FakeValue $state 'productType' 3) -eq 1) { throw [System.InvalidOperationException]::new('The target of the specified cmdlet cannot be a Windows client-based operating system') }
  $installState = Get-FakeValue $state 'feature' 'Available'
  foreach ($n in $Name) {
    if ($n -ne 'Web-CertProvider') { continue }
    [pscustomobject]@{ Name = $n; DisplayName = 'Centralized SSL Certificate Support'; Installed = ($installState -eq 'Installed'); InstallState = $installState }
  }
}

function Install-WindowsFeature {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string[]] $Name, [switch] $IncludeManagementTools, [switch] $IncludeAllSubFeature, [switch] $Restart)
  $state = Enter-FakeCommand 'Install-WindowsFeature' $PSBoundParameters
  if ($Name -notcontains 'Web-CertProvider') { throw [System.ArgumentException]::new("fake: feature $Name") }
  switch (Get-FakeValue $state 'install' 'ok') {
    'fail' { return [pscustomobject]@{ Success = $false; RestartNeeded = 'No'; ExitCode = 'Failed'; FeatureResult = @() } }
    'restart' {
      $state.feature = 'InstallPending'; Save-FakeState $state
      return [pscustomobject]@{ Success = $true; RestartNeeded = 'Yes'; ExitCode = 'SuccessRestartRequired'; FeatureResult = @() }
    }
    default {
      $state.feature = 'Installed'; Save-FakeState $state
      return [pscustomobject]@{ Success = $true; RestartNeeded = 'No'; ExitCode = 'Success'; FeatureResult = @() }
    }
  }
}

function Get-WindowsOptionalFeature {
  [CmdletBinding()]
  param([switch] $Online, [Parameter(Mandatory = $true)][string] $FeatureName)
  $state = Enter-FakeCommand 'Get-WindowsOptionalFeature' $PSBoundParameters
  if (-not $Online) { throw [System.ArgumentException]::new('fake: only -Online is supported') }
  $map = @{ Installed = 'Enabled'; InstallPending = 'EnablePending'; Available = 'Disabled' }
  return [pscustomobject]@{ FeatureName = $FeatureName; State = $map[[string](Get-FakeValue $state 'feature' 'Available')]; RestartNeeded = $false }
}

function Enable-WindowsOptionalFeature {
  [CmdletBinding()]
  param([switch] $Online, [Parameter(Mandatory = $true)][string[]] $FeatureName, [switch] $All, [switch] $NoRestart, [switch] $LimitAccess)
  $state = Enter-FakeCommand 'Enable-WindowsOptionalFeature' $PSBoundParameters
  if (-not $Online) { throw [System.ArgumentException]::new('fake: only -Online is supported') }
  if ($FeatureName -notcontains 'IIS-CertProvider') { throw [System.ArgumentException]::new("fake: feature $FeatureName") }
  switch (Get-FakeValue $state 'install' 'ok') {
    'fail' { throw [System.Runtime.InteropServices.COMException]::new('Enable-WindowsOptionalFeature failed. Error code = 0x800f0922') }
    'restart' { $state.feature = 'InstallPending'; Save-FakeState $state; return [pscustomobject]@{ Online = $true; RestartNeeded = $true } }
    default { $state.feature = 'Installed'; Save-FakeState $state; return [pscustomobject]@{ Online = $true; RestartNeeded = $false } }
  }
}

# ------------------------------------------------------------------------------------------------
# Drives: a UNC root is mapped to a local folder, and the credential is checked as an SMB server would.

function New-PSDrive {
  [CmdletBinding()]
  param(
    [Parameter(Mandatory = $true, Position = 0)][string] $Name,
    [Parameter(Mandatory = $true, Position = 1)][string] $PSProvider,
    [Parameter(Mandatory = $true, Position = 2)][string] $Root,
    [string] $Description,
    [string] $Scope,
    [switch] $Persist,
    [System.Management.Automation.PSCredential] $Credential
  )
  $state = Enter-FakeCommand 'New-PSDrive' $PSBoundParameters
  $folder = $null
  foreach ($entry in (Get-FakeValue $state 'shares' @{}).GetEnumerator()) {
    if ($entry.Key -ieq $Root) { $folder = $entry.Value }
  }
  if ($null -eq $folder) { throw [System.ComponentModel.Win32Exception]::new(67) }  # network name not found
  if ($null -ne $Credential) {
    $account = $null
    foreach ($entry in (Get-FakeValue $state 'accounts' @{}).GetEnumerator()) {
      if ($entry.Key -ieq $Credential.UserName) { $account = $entry.Value }
    }
    if ($null -eq $account -or $account.password -cne $Credential.GetNetworkCredential().Password) {
      throw [System.ComponentModel.Win32Exception]::new(1326)  # the user name or password is incorrect
    }
    if (-not (@($account.shares) | Where-Object { $_ -ieq $Root })) {
      throw [System.ComponentModel.Win32Exception]::new(5)  # access denied
    }
  }
  Microsoft.PowerShell.Management\New-PSDrive -Name $Name -PSProvider FileSystem -Root $folder -Scope Global
}

function Remove-PSDrive {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string[]] $Name, [string] $Scope, [switch] $Force)
  $null = Enter-FakeCommand 'Remove-PSDrive' $PSBoundParameters
  Microsoft.PowerShell.Management\Remove-PSDrive -Name $Name -Scope Global -Force
}

Export-ModuleMember -Function @(
  'Get-IISCentralCertProvider', 'Enable-IISCentralCertProvider', 'Set-IISCentralCertProvider',
  'Disable-IISCentralCertProvider', 'Clear-IISCentralCertProvider',
  'Get-CimInstance', 'Get-WindowsFeature', 'Install-WindowsFeature',
  'Get-WindowsOptionalFeature', 'Enable-WindowsOptionalFeature',
  'New-PSDrive', 'Remove-PSDrive'
)
