<#
.SYNOPSIS
  Makes the IIS Central Certificate Store provider match the desired state.

.DESCRIPTION
  Input (stdin), secrets only here:
    { "enabled": true, "path": "\\\\files\\ccs", "username": "CONTOSO\\ccs-reader",
      "password": "...", "privateKeyPassword": "..." | null }
    { "enabled": false }

  enabled = true:
    - disabled now: Enable-IISCentralCertProvider -CertStoreLocation -UserName -Password
      -PrivateKeyPassword (all four are mandatory; a missing private-key password is passed as
      an empty SecureString, which IIS stores as "no password");
    - enabled now: Set-IISCentralCertProvider with the same four values (an update; all are
      always set, so a password rotation and a path move are one call).
  enabled = false (as IIS Administration's DELETE): Disable-IISCentralCertProvider, then
    Clear-IISCentralCertProvider -Force, which erases the user name and both passwords (and the
    location). Nothing to do when the feature is not installed or CCS is already disabled and
    cleared.

  Result: the ActualState after the change (as Get-CcsState.ps1), plus "action":
    "enabled" | "updated" | "disabled" | "unchanged".
  Errors: InvalidInput, FeatureNotInstalled (the agent then runs Install-CcsFeature.ps1),
    RebootRequired (exit code 3010), ModuleUnavailable, CmdletFailed.
#>
[CmdletBinding()]
param(
  # Tests only: a module standing in for IISAdministration and the feature cmdlets.
  [string] $TestModule
)

. (Join-Path -Path $PSScriptRoot -ChildPath 'CcsCommon.ps1')

Invoke-CcsMain -TestModule $TestModule -Body {
  $desired = Read-CcsInput
  $enabled = Get-CcsField -Object $desired -Name 'enabled'
  if ($enabled -isnot [bool]) {
    throw (New-CcsError -Code 'InvalidInput' -Message "input field 'enabled' must be true or false")
  }

  $feature = Get-CcsFeatureState
  if ($feature.pending) {
    throw (New-CcsError -Code 'RebootRequired' -Message "Windows must restart to finish installing the IIS Central Certificate Store feature ($($feature.name))" -Cmdlet $feature.installer -RebootRequired)
  }

  if (-not $enabled) {
    if (-not $feature.installed) {
      $state = Get-CcsActualState
      $state.action = 'unchanged'
      return $state
    }
    Import-CcsIisModule
    $before = Get-CcsProvider
    $action = 'unchanged'
    if ($before.Enabled) {
      Invoke-CcsCmdlet -Name 'Disable-IISCentralCertProvider' | Out-Null
      $action = 'disabled'
    }
    # The username is the only credential that can be read back; the passwords go with it, as
    # Clear-IISCentralCertProvider erases every value at once.
    if ($before.Enabled -or $null -ne $before.UserName -or $null -ne $before.CertStoreLocation) {
      Invoke-CcsCmdlet -Name 'Clear-IISCentralCertProvider' -Parameters @{ Force = $true } | Out-Null
      $action = 'disabled'
    }
    $state = Get-CcsActualState
    $state.action = $action
    return $state
  }

  $path = Get-CcsString -Object $desired -Name 'path'
  $username = Get-CcsString -Object $desired -Name 'username'
  $password = ConvertTo-CcsSecureString (Get-CcsString -Object $desired -Name 'password' -AllowEmpty)
  $privateKeyPassword = ConvertTo-CcsSecureString (Get-CcsString -Object $desired -Name 'privateKeyPassword' -AllowNull -AllowEmpty)
  $desired = $null

  if (-not $feature.installed) {
    throw (New-CcsError -Code 'FeatureNotInstalled' -Message "The IIS Central Certificate Store feature ($($feature.name)) is not installed" -Cmdlet $feature.installer)
  }
  Import-CcsIisModule
  $before = Get-CcsProvider
  $parameters = @{
    CertStoreLocation  = $path
    UserName           = $username
    Password           = $password
    PrivateKeyPassword = $privateKeyPassword
  }
  if ($before.Enabled) {
    Invoke-CcsCmdlet -Name 'Set-IISCentralCertProvider' -Parameters $parameters | Out-Null
    $action = 'updated'
  }
  else {
    Invoke-CcsCmdlet -Name 'Enable-IISCentralCertProvider' -Parameters $parameters | Out-Null
    $action = 'enabled'
  }
  $password.Dispose()
  $privateKeyPassword.Dispose()

  $state = Get-CcsActualState
  $state.action = $action
  return $state
}
