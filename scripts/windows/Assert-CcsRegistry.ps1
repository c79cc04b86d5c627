<#
.SYNOPSIS
  Windows job step: IIS's Central Certificate Store settings in the registry are as expected
  (HKLM\SOFTWARE\Microsoft\IIS\CentralCertProvider, what IIS itself reads).
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][bool] $Enabled,
  [string] $Path,
  [string] $UserName,
  [string] $TestModule
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }

$values = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\IIS\CentralCertProvider'
$actual = @{ Enabled = $false; CertStoreLocation = $null; UserName = $null }
if ($null -ne $values.PSObject.Properties['Enabled']) { $actual.Enabled = [int]$values.Enabled -ne 0 }
foreach ($name in 'CertStoreLocation', 'UserName') {
  if ($null -ne $values.PSObject.Properties[$name]) { $actual[$name] = [string]$values.$name }
}
$problems = @()
if ($actual.Enabled -ne $Enabled) { $problems += "Enabled is $($actual.Enabled), expected $Enabled" }
if ($Enabled -and $actual.CertStoreLocation -ne $Path) { $problems += "CertStoreLocation is '$($actual.CertStoreLocation)', expected '$Path'" }
if ($Enabled -and $actual.UserName -ne $UserName) { $problems += "UserName is '$($actual.UserName)', expected '$UserName'" }
if (-not $Enabled -and $actual.UserName) { $problems += "UserName '$($actual.UserName)' was not erased" }
if ($problems.Count -gt 0) { throw ($problems -join '; ') }
Write-Host "CentralCertProvider: Enabled=$($actual.Enabled) CertStoreLocation=$($actual.CertStoreLocation) UserName=$($actual.UserName)"
