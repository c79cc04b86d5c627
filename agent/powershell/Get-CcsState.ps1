<#
.SYNOPSIS
  Reads the IIS Central Certificate Store provider settings (never a password).

.DESCRIPTION
  Input (stdin): {} (ignored).
  Result: { enabled, path, username, featureInstalled, rebootRequired, osVersion }
  - featureInstalled: the Web-CertProvider (Server) / IIS-CertProvider (client) feature is installed;
    when it is not, CCS is reported disabled and IISAdministration is not loaded.
  - rebootRequired: the feature is installed but waits for a restart (InstallPending / EnablePending).
  - osVersion: Win32_OperatingSystem.Version ('10.0.17763'), when known.
  Protocol and error codes: CcsCommon.ps1.
#>
[CmdletBinding()]
param(
  # Tests only: a module standing in for IISAdministration and the feature cmdlets.
  [string] $TestModule
)

. (Join-Path -Path $PSScriptRoot -ChildPath 'CcsCommon.ps1')

Invoke-CcsMain -TestModule $TestModule -Body {
  $null = Read-CcsInput
  Get-CcsActualState
}
