<#
.SYNOPSIS
  Removes the CCS agent's Windows service.

.DESCRIPTION
  Stops the service (the agent finishes the message in hand), deletes it and its compiled wrapper.
  The configuration, the agent's state and the logs in %ProgramData%\CcsAgent, and the Event Log
  source (so that past events stay readable), are kept unless -Purge is given.

  IIS's Central Certificate Store settings are left as they are: to disable CCS on this server,
  DELETE the ccs-id through the API first (every host of the ccs-id), or run
  Disable-IISCentralCertProvider; Clear-IISCentralCertProvider -Force here.

.EXAMPLE
  .\agent\uninstall.ps1
.EXAMPLE
  .\agent\uninstall.ps1 -Purge
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
  [string] $ServiceName = 'CcsAgent',
  [string] $ServiceDir = (Join-Path "$env:ProgramFiles" 'CcsAgent'),
  [string] $DataDir = (Join-Path "$env:ProgramData" 'CcsAgent'),
  # Also delete the configuration, state and logs, and the Event Log source.
  [switch] $Purge,
  # Tests only: a module standing in for Windows (test/powershell/FakeIIS).
  [string] $TestModule
)
#Requires -RunAsAdministrator

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
if ($TestModule) { Import-Module -Name $TestModule -Global -Force -DisableNameChecking }
. (Join-Path -Path $PSScriptRoot -ChildPath 'service\CcsInstallCommon.ps1')

$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($service) {
  if ($service.Status -ne 'Stopped' -and $PSCmdlet.ShouldProcess($ServiceName, 'stop')) {
    Write-Host "==> Stopping $ServiceName"
    Stop-Service -Name $ServiceName -Force
    (Get-Service -Name $ServiceName).WaitForStatus('Stopped', [TimeSpan]::FromSeconds(90))
  }
  if ($PSCmdlet.ShouldProcess($ServiceName, 'delete the service')) {
    Write-Host "==> Deleting $ServiceName"
    $null = Invoke-ServiceMethod -Name $ServiceName -Method 'Delete'  # Remove-Service is PowerShell 6+
  }
}
else {
  Write-Host "Service $ServiceName is not installed."
}

$wrapper = Join-Path $ServiceDir 'CcsAgentService.exe'
if ((Test-Path -LiteralPath $wrapper) -and $PSCmdlet.ShouldProcess($wrapper, 'delete')) {
  # The process may need a moment to exit after the service stopped.
  for ($i = 0; $i -lt 10; $i++) {
    try { Remove-Item -LiteralPath $wrapper -Force; break }
    catch { Start-Sleep -Seconds 1 }
  }
  if (-not @(Get-ChildItem -LiteralPath $ServiceDir -Force).Count) { Remove-Item -LiteralPath $ServiceDir -Force }
}

if ($Purge) {
  if ((Test-Path -LiteralPath $DataDir) -and $PSCmdlet.ShouldProcess($DataDir, 'delete configuration, state and logs')) {
    Remove-Item -LiteralPath $DataDir -Recurse -Force
  }
  $sourceKey = "HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Application\$ServiceName"
  if ($null -ne (Get-ItemProperty -Path $sourceKey -ErrorAction SilentlyContinue) -and $PSCmdlet.ShouldProcess($ServiceName, 'remove the Event Log source')) {
    Remove-Item -Path $sourceKey -Recurse -Force
  }
}
else {
  Write-Host "Kept $DataDir (configuration, state, logs) and the Event Log source; -Purge removes them."
}
Write-Host 'Done.'
