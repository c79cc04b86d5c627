<#
.SYNOPSIS
  Preflight on Windows: can this identity read the store, and does the private-key password open
  a certificate there? Changes nothing.

.DESCRIPTION
  Input (stdin), secrets only here:
    { "path": "\\\\files\\ccs", "username": "CONTOSO\\ccs-reader", "password": "...",
      "privateKeyPassword": "..." | null | absent }

  - A UNC path is opened as the identity, the way IIS opens it: a temporary PowerShell drive
    (New-PSDrive -Credential, which makes an SMB connection with those credentials), the folder is
    listed through it, then the drive is removed (also on failure). A local path (D:\certs) is
    listed with the agent's own identity: the credentials of a local folder are not checked here.
  - When "privateKeyPassword" is present (null = the empty password), the first .pfx file (by name)
    is opened with it through the same connection, with X509Certificate2 and an ephemeral key set
    (nothing is added to any certificate store or key container).

  Result:
    { "accessible": <bool>, "reason": null | "LogonFailed" | "AccessDenied" | "NotFound"
        | "CredentialConflict" | "AccountRestricted" | "Failed",
      "win32": <int|null>, "files": <count of .pfx files>,
      "pfx": null | { "file": "<name>", "result": "ok" | "wrong-password" | "unreadable" | "none" } }
  "accessible": false is an answer, not an error: the error codes are for a broken script run
  (InvalidInput, Unexpected).
#>
[CmdletBinding()]
param(
  # Tests only: a module standing in for IISAdministration and the feature cmdlets.
  [string] $TestModule
)

. (Join-Path -Path $PSScriptRoot -ChildPath 'CcsCommon.ps1')

function Get-CcsAccessReason {
  # Win32 codes of a failed SMB logon / listing, as a stable reason.
  param([AllowNull()] $Win32)
  switch ($Win32) {
    { $_ -in @(86, 1326) } { return 'LogonFailed' }                  # bad user name or password
    { $_ -in @(1327, 1328, 1329, 1330, 1331, 1385, 1907, 1909) } { return 'AccountRestricted' } # expired, disabled, locked out, no network logon right
    { $_ -in @(5, 65) } { return 'AccessDenied' }
    { $_ -in @(2, 3, 53, 67, 161, 1203, 1222) } { return 'NotFound' }  # no such folder, server or share
    { $_ -in @(1219) } { return 'CredentialConflict' }                 # this session already uses other credentials for the server
    default { return 'Failed' }
  }
}

function Test-CcsPfxPassword {
  param([Parameter(Mandatory = $true)][string] $File, [Parameter(Mandatory = $true)][System.Security.SecureString] $Password)
  try {
    $bytes = [System.IO.File]::ReadAllBytes($File)
  }
  catch {
    return 'unreadable'
  }
  $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::DefaultKeySet
  $ephemeral = [System.Enum]::GetNames([System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]) -contains 'EphemeralKeySet'
  if ($ephemeral) { $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]'EphemeralKeySet' }
  $certificate = $null
  try {
    $certificate = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList @($bytes, $Password, $flags)
    return 'ok'
  }
  catch {
    # A PKCS#12 file that does not open is a wrong password; anything else proves nothing.
    $type = [System.Security.Cryptography.X509Certificates.X509ContentType]::Unknown
    try { $type = [System.Security.Cryptography.X509Certificates.X509Certificate2]::GetCertContentType($bytes) } catch { Write-Debug 'not a certificate' }
    if ($type -eq [System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12) { return 'wrong-password' }
    return 'unreadable'
  }
  finally {
    # Without EphemeralKeySet (.NET Framework < 4.7.2) Reset() deletes the temporary key files.
    if ($null -ne $certificate) { $certificate.Reset() }
  }
}

Invoke-CcsMain -TestModule $TestModule -Body {
  $in = Read-CcsInput
  $path = Get-CcsString -Object $in -Name 'path'
  $username = Get-CcsString -Object $in -Name 'username'
  $password = ConvertTo-CcsSecureString (Get-CcsString -Object $in -Name 'password' -AllowEmpty)
  $checkPfx = $null -ne $in.PSObject.Properties['privateKeyPassword']
  $privateKeyPassword = $null
  if ($checkPfx) {
    $privateKeyPassword = ConvertTo-CcsSecureString (Get-CcsString -Object $in -Name 'privateKeyPassword' -AllowNull -AllowEmpty)
  }
  $in = $null

  $answer = [ordered]@{ accessible = $false; reason = $null; win32 = $null; files = 0; pfx = $null }
  $isUnc = $path.StartsWith('\\')
  $drive = $null
  try {
    $root = $path
    if ($isUnc) {
      $credential = New-Object System.Management.Automation.PSCredential -ArgumentList @($username, $password)
      $name = 'ccs' + [System.Guid]::NewGuid().ToString('N').Substring(0, 12)
      try {
        $drive = New-PSDrive -Name $name -PSProvider FileSystem -Root $path -Credential $credential -Scope Script -ErrorAction Stop
      }
      catch {
        $answer.win32 = Get-CcsWin32Code -Exception $_.Exception
        $answer.reason = Get-CcsAccessReason $answer.win32
        return $answer
      }
      $root = "$($name):\"
    }
    try {
      $items = @(Get-ChildItem -LiteralPath $root -Force -ErrorAction Stop)
    }
    catch {
      $answer.win32 = Get-CcsWin32Code -Exception $_.Exception
      if ($_.Exception -is [System.UnauthorizedAccessException]) { $answer.win32 = 5 }
      if ($_.Exception -is [System.Management.Automation.ItemNotFoundException]) { $answer.win32 = 3 }
      $answer.reason = Get-CcsAccessReason $answer.win32
      return $answer
    }
    $answer.accessible = $true
    $pfxFiles = @($items | Where-Object { -not $_.PSIsContainer -and $_.Name -like '*.pfx' } | Sort-Object -Property Name)
    $answer.files = $pfxFiles.Count
    if ($checkPfx) {
      if ($pfxFiles.Count -eq 0) {
        $answer.pfx = [ordered]@{ file = $null; result = 'none' }
      }
      else {
        $first = $pfxFiles[0]
        $answer.pfx = [ordered]@{ file = $first.Name; result = (Test-CcsPfxPassword -File $first.FullName -Password $privateKeyPassword) }
      }
    }
    return $answer
  }
  finally {
    if ($null -ne $drive) { Remove-PSDrive -Name $drive.Name -Scope Script -Force -ErrorAction SilentlyContinue }
    $password.Dispose()
    if ($null -ne $privateKeyPassword) { $privateKeyPassword.Dispose() }
  }
}
