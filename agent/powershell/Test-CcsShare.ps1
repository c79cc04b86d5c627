<#
.SYNOPSIS
  Preflight on Windows: can the CCS identity read the store, and can this server's own account?
  Changes nothing.

.DESCRIPTION
  Input (stdin), the secret only here:
    { "path": "\\\\files\\ccs", "username": "CONTOSO\\ccs-reader", "password": "..." }

  The way IIS Administration checks the identity (CcsStoreProbe.cs, compiled here with Add-Type):
  LogonUser, then, impersonated, the folder is listed and the first .pfx read. The token is a
  logon session of its own: this process's connections to the same server do not interfere
  (no error 1219) and nothing stays connected when it is closed. Local paths and shares alike.
  Then the same folder and file are read as this process (LocalSystem: the computer account on a
  share), which is what reads the store for the certificate inventory.

  Result:
    { "identity": { "win32": 0 | <Windows error>, "stage": null | "logon" | "list" | "read",
                    "files": <.pfx count>, "pfx": null | { "name": "...", "base64": "..." } },
      "agent": null | { "win32": 0 | <Windows error>, "stage": null | "list" | "read" } }
  "agent" is null when the identity check failed. A failure is an answer, not an error: the agent
  maps the Windows errors (agent/backends/store-access.ts). The error codes are for a broken run
  (InvalidInput, Unexpected). The private-key password never comes here: the agent checks it on
  the returned bytes with its own PKCS#12 reader.
#>
[CmdletBinding()]
param(
  # Tests only: a module standing in for IISAdministration and the Windows calls.
  [string] $TestModule
)

. (Join-Path -Path $PSScriptRoot -ChildPath 'CcsCommon.ps1')

function ConvertTo-CcsProbeAnswer {
  param([Parameter(Mandatory = $true)] $Result, [switch] $WithFile)
  $answer = [ordered]@{ win32 = [int]$Result.Win32; stage = $Result.Stage }
  if ($WithFile) {
    $answer.files = [int]$Result.PfxCount
    $answer.pfx = $null
    if ($null -ne $Result.PfxName) {
      $answer.pfx = [ordered]@{ name = [string]$Result.PfxName; base64 = [System.Convert]::ToBase64String($Result.PfxBytes) }
    }
  }
  return $answer
}

Invoke-CcsMain -TestModule $TestModule -Body {
  $in = Read-CcsInput
  $path = Get-CcsString -Object $in -Name 'path'
  $username = Get-CcsString -Object $in -Name 'username'
  $password = ConvertTo-CcsSecureString (Get-CcsString -Object $in -Name 'password' -AllowEmpty)
  $in = $null

  if (-not ('CcsAgent.StoreProbe' -as [type])) {
    Add-Type -Path (Join-Path -Path $PSScriptRoot -ChildPath 'CcsStoreProbe.cs')
  }
  if ($script:CcsTestMode) { Use-FakeStoreProbe }

  try {
    $identity = [CcsAgent.StoreProbe]::AsIdentity($username, $password, $path)
  }
  finally {
    $password.Dispose()
  }
  $answer = [ordered]@{ identity = (ConvertTo-CcsProbeAnswer -Result $identity -WithFile); agent = $null }
  if ($identity.Win32 -eq 0) {
    $answer.agent = ConvertTo-CcsProbeAnswer -Result ([CcsAgent.StoreProbe]::AsSelf($path, $identity.PfxName))
  }
  $answer
}
