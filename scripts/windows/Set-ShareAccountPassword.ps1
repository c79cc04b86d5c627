<#
.SYNOPSIS
  Windows job step: rotates the share account's password (read from an environment variable, never
  from a command line). The ccs-id is then PATCHed with the new password through the API.
#>
[CmdletBinding()]
param(
  [string] $UserName = 'ccs-reader',
  [string] $PasswordVariable = 'CCS_SHARE_PASSWORD',
  [string] $TestModule
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }

$plain = [System.Environment]::GetEnvironmentVariable($PasswordVariable)
if (-not $plain) { throw "Set $PasswordVariable to the new password" }
$password = New-Object System.Security.SecureString
foreach ($c in $plain.ToCharArray()) { $password.AppendChar($c) }
Set-LocalUser -Name $UserName -Password $password
Write-Host "Password of $UserName changed"
