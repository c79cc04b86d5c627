<#
.SYNOPSIS
  Windows job step: a local account for the CCS identity and an SMB share holding PFX files.
  The share grants READ to that account and to SYSTEM (the agent, which reads the share itself for
  the certificate inventory: on a domain this is the web servers' computer accounts).
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string] $Folder,
  [Parameter(Mandatory = $true)][string[]] $PfxFile,
  [string] $ShareName = 'ccs',
  [string] $UserName = 'ccs-reader',
  # Read from the CCS_SHARE_PASSWORD environment variable when absent (never on a command line).
  [string] $PasswordVariable = 'CCS_SHARE_PASSWORD',
  [string] $TestModule
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }

$plain = [System.Environment]::GetEnvironmentVariable($PasswordVariable)
if (-not $plain) { throw "Set $PasswordVariable to the share account's password" }
$password = New-Object System.Security.SecureString
foreach ($c in $plain.ToCharArray()) { $password.AppendChar($c) }

New-Item -ItemType Directory -Path $Folder -Force | Out-Null
foreach ($file in $PfxFile) { Copy-Item -LiteralPath $file -Destination $Folder -Force }
New-LocalUser -Name $UserName -Password $password -PasswordNeverExpires -Description 'CCS share account (test)' | Out-Null
New-SmbShare -Name $ShareName -Path $Folder -ReadAccess @("$env:COMPUTERNAME\$UserName", 'NT AUTHORITY\SYSTEM') | Out-Null
Write-Host "\\localhost\$ShareName -> $Folder, READ for $env:COMPUTERNAME\$UserName and SYSTEM"
