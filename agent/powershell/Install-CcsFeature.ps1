<#
.SYNOPSIS
  Installs the IIS Central Certificate Store feature when it is missing.

.DESCRIPTION
  Windows Server: Install-WindowsFeature -Name Web-CertProvider (adds the IIS role services it
  depends on). Windows 10/11: Enable-WindowsOptionalFeature -Online -FeatureName IIS-CertProvider
  -All -NoRestart. The server is never restarted by this script: when Windows needs a restart
  (RestartNeeded, exit code 3010, or the feature left InstallPending) the answer is the error
  RebootRequired and the process exits with 3010, and the agent reports the host as
  reboot_required until someone restarts it.

  Input (stdin): {} (ignored).
  Result: { installed: true, changed: <bool>, feature, installer, rebootRequired: false }
  Errors: RebootRequired, FeatureInstallFailed, FeatureUnavailable, FeatureCheckFailed.
#>
[CmdletBinding()]
param(
  # Tests only: a module standing in for IISAdministration and the feature cmdlets.
  [string] $TestModule
)

. (Join-Path -Path $PSScriptRoot -ChildPath 'CcsCommon.ps1')

Invoke-CcsMain -TestModule $TestModule -Body {
  $null = Read-CcsInput
  $feature = Get-CcsFeatureState
  $rebootMessage = "Windows must restart to finish installing the IIS Central Certificate Store feature ($($feature.name))"
  if ($feature.pending) {
    throw (New-CcsError -Code 'RebootRequired' -Message $rebootMessage -Cmdlet $feature.installer -RebootRequired)
  }
  if ($feature.installed) {
    return [ordered]@{ installed = $true; changed = $false; feature = $feature.name; installer = $feature.installer; rebootRequired = $false }
  }

  $result = $null
  try {
    if ($feature.installer -eq 'Enable-WindowsOptionalFeature') {
      $result = Enable-WindowsOptionalFeature -Online -FeatureName $feature.name -All -NoRestart -ErrorAction Stop -WarningAction SilentlyContinue
    }
    else {
      $result = Install-WindowsFeature -Name $feature.name -ErrorAction Stop -WarningAction SilentlyContinue
    }
  }
  catch {
    if ((Get-CcsWin32Code -Exception $_.Exception) -eq 3010) {
      throw (New-CcsError -Code 'RebootRequired' -Message $rebootMessage -Cmdlet $feature.installer -RebootRequired)
    }
    throw (New-CcsError -Code 'FeatureInstallFailed' -Message "Installing $($feature.name) failed" -Cmdlet $feature.installer -Inner $_.Exception)
  }

  $success = Get-CcsField -Object $result -Name 'Success' -Default $true
  if ($success -is [string]) { $success = $success -eq 'True' }
  if (-not $success) {
    $exitCode = Get-CcsField -Object $result -Name 'ExitCode'
    throw (New-CcsError -Code 'FeatureInstallFailed' -Message "Installing $($feature.name) failed (exit code $exitCode)" -Cmdlet $feature.installer)
  }
  if ((Test-CcsRestartNeeded $result) -or (Get-CcsFeatureState).pending) {
    throw (New-CcsError -Code 'RebootRequired' -Message $rebootMessage -Cmdlet $feature.installer -RebootRequired)
  }
  [ordered]@{ installed = $true; changed = $true; feature = $feature.name; installer = $feature.installer; rebootRequired = $false }
}
