<#
.SYNOPSIS
  Windows job step: an HTTPS binding of the Default Web Site that takes its certificate from the
  Central Certificate Store by SNI (sslFlags 3 = SNI + CCS), as in "Centralized Certificate Store
  (CCS) and IIS bindings" (IIS support blog): the site binding, then its http.sys binding.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string] $HostName,
  [int] $Port = 443,
  [string] $Site = 'Default Web Site',
  [string] $TestModule
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }
else { Import-Module -Name WebAdministration }

New-WebBinding -Name $Site -Protocol https -IPAddress '*' -Port $Port -HostHeader $HostName -SslFlags 3
New-Item -Path "IIS:\SslBindings\!$Port!$HostName" -Value $null -Force | Out-Null
Write-Host "https://${HostName}:$Port/ on '$Site' uses the Central Certificate Store (sslFlags 3)"
