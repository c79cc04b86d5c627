<#
.SYNOPSIS
  Reads the IIS Central Certificate Store provider settings (never a password), from the registry
  as the agent reads them in-process (agent/backends/iis-registry.ts): for troubleshooting by hand;
  the agent itself never starts this script.

.DESCRIPTION
  Input (stdin): {} (ignored).
  Result: { enabled, path, username, featureInstalled, rebootRequired, osVersion }
  - featureInstalled: HKLM\SOFTWARE\Microsoft\InetStp\Components CertProvider = 1; when it is not,
    CCS is reported disabled.
  - rebootRequired: the feature is not installed and Windows servicing waits for a restart
    (Component Based Servicing\RebootPending).
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
