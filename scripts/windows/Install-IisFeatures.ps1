<#
.SYNOPSIS
  Windows job step: the Web Server role with Centralized SSL Certificate Support and the IIS
  management scripts (IISAdministration, WebAdministration). Windows PowerShell 5.1.
#>
[CmdletBinding()]
param([string] $TestModule)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }

$result = Install-WindowsFeature -Name @('Web-Server', 'Web-CertProvider', 'Web-Scripting-Tools') -IncludeManagementTools
if (-not $result.Success) { throw "Install-WindowsFeature failed: $($result.ExitCode)" }
if ("$($result.RestartNeeded)" -eq 'Yes') { throw 'Windows asks for a restart after installing IIS; this job cannot restart the runner' }
Write-Host "IIS installed ($($result.ExitCode))"
