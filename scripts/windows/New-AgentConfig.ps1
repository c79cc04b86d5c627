<#
.SYNOPSIS
  Windows job step: the agent's configuration for the local stack started by `npm start`
  (.local\stack.json and .local\stack-secrets.json): Azurite's queues, the local Key Vault, the
  powershell backend, this server as a host of the ccs-id.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string] $OutFile,
  [string] $LocalDir = (Join-Path (Split-Path -Parent (Split-Path -Parent $PSScriptRoot)) '.local'),
  [string] $SharePath = '\\localhost\ccs',
  [string] $StateDir = 'C:\ProgramData\CcsAgent'
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$stack = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText((Join-Path $LocalDir 'stack.json')))
$secrets = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText((Join-Path $LocalDir 'stack-secrets.json')))
$config = [ordered]@{
  ccsId            = $stack.ccsId
  hostName         = "$env:COMPUTERNAME".ToLowerInvariant()
  storage          = [ordered]@{ connectionString = $stack.storage.connectionString }
  keyVault         = [ordered]@{ url = $stack.keyVault.url; caCertFile = $stack.keyVault.caCertPath; localToken = $secrets.agentVaultToken }
  backend          = 'powershell'
  allowedLocations = @([ordered]@{ path = $SharePath; claims = @('read') })
  stateDir         = $StateDir
}
[System.IO.File]::WriteAllText($OutFile, (ConvertTo-Json -InputObject $config -Depth 6), (New-Object System.Text.UTF8Encoding($false)))
Write-Host "Agent configuration for host $($config.hostName) in ccs-id $($config.ccsId): $OutFile"
