# FakeIIS, part: logon sessions and SMB connections, the way Windows ties them together.
# Dot-sourced by FakeIIS.psm1.
#
# - LogonUser (advapi32, learn.microsoft.com "LogonUserW"): an unknown account or a wrong password is
#   1326 (ERROR_LOGON_FAILURE); a locked-out account is 1909 whatever the password (the domain
#   controller refuses it before checking one); with the right password a disabled account is 1331,
#   an expired password 1330, and an account without the logon right of the logon type
#   (LOGON32_LOGON_INTERACTIVE: "Allow log on locally") 1385. Each successful logon is a new logon
#   session, which ends when its last token is closed ("A user is considered logged on if at least
#   one token exists"); the redirector's connections of that session end with it.
# - SMB connections belong to a logon session (KB 183366, "WNetAddConnection2 and multiple user
#   credentials"): all connections of one session to one server use one set of credentials; asking
#   for another connection to that server with different credentials fails with 1219
#   (ERROR_SESSION_CREDENTIAL_CONFLICT). A UNC path opened without explicit credentials connects
#   with the session's own: LocalSystem's are the computer account's (DOMAIN\HOST$), an
#   impersonated thread's are its token's. A failing New-PSDrive -Credential can leave its
#   connection behind (the connection is made before the root is checked, and there is no drive
#   object to remove).
# - Errors of the path: 53 no such server (ERROR_BAD_NETPATH), 67 no such share (ERROR_BAD_NET_NAME),
#   3 no such folder, 2 no such file, 5 no permission.

$script:FakeSession = 'system'

function Get-FakeWindows {
  param([System.Collections.IDictionary] $State)
  $windows = Get-FakeValue $State 'windows' $null
  if ($null -eq $windows) { $windows = [ordered]@{}; $State.windows = $windows }
  foreach ($name in 'sessions', 'connections') {
    if (-not $windows.Contains($name) -or $null -eq $windows[$name]) { $windows[$name] = if ($name -eq 'sessions') { [ordered]@{} } else { @() } }
  }
  if (-not $windows.Contains('computerAccount')) { $windows.computerAccount = 'CONTOSO\WEB01$' }
  return $windows
}

function Get-FakeSessionUser {
  param([System.Collections.IDictionary] $Windows, [string] $Session)
  if ($Session -eq 'system') { return $Windows.computerAccount }
  $entry = Get-FakeEntry -Table $Windows.sessions -Key $Session
  if ($null -eq $entry) { throw [System.InvalidOperationException]::new("fake: logon session $Session has ended") }
  return $entry.user
}

function Find-FakeAccount {
  param([System.Collections.IDictionary] $State, [string] $User, [string] $Domain)
  $accounts = Get-FakeValue $State 'accounts' @{}
  if ($Domain -and $Domain -ne '.') { return Get-FakeEntry -Table $accounts -Key "$Domain\$User" }
  foreach ($name in @($accounts.Keys)) {
    if ($name -ieq $User -or $name -like "*\$User") { return $accounts[$name] }
  }
  return $null
}

function Test-FakeCredential {
  # LogonUser's verdict (see the top of this file): 0, or the Windows error.
  param([System.Collections.IDictionary] $Account, [string] $Password)
  if ($null -eq $Account -or -not $Account.Contains('password')) { return 1326 }
  $restriction = Get-FakeValue $Account 'restriction' ''
  if ($restriction -eq 'locked-out') { return 1909 }
  if ($Account.password -cne $Password) { return 1326 }
  switch ($restriction) {
    'disabled' { return 1331 }
    'password-expired' { return 1330 }
    'no-logon-right' { return 1385 }
  }
  return 0
}

function Split-FakeUnc {
  param([string] $Path)
  $p = $Path.Replace('/', '\')
  if ($p -match '^\\\\([^\\]+)\\([^\\]+)\\?(.*)$') { return @{ server = $Matches[1]; share = $Matches[2]; rest = $Matches[3] } }
  return $null
}

function Get-FakeShareRoot {
  # The configured "\\server\share" for a path, or the Windows error of looking for it.
  param([System.Collections.IDictionary] $State, [hashtable] $Unc)
  $shares = Get-FakeValue $State 'shares' @{}
  $onServer = @($shares.Keys | Where-Object { (Split-FakeUnc $_).server -ieq $Unc.server })
  if ($onServer.Count -eq 0) { throw (New-FakeWin32Error 53) }
  $root = $onServer | Where-Object { (Split-FakeUnc $_).share -ieq $Unc.share } | Select-Object -First 1
  if (-not $root) { throw (New-FakeWin32Error 67) }
  return $root
}

function Resolve-FakeStorePath {
  <#
    The local path behind a store path, opened by the current session (the process's, or the
    impersonated token's): connects to the server when the session has no connection there yet
    (with the session's own credentials), then checks the share permission of whoever the
    connection authenticated as.
  #>
  param([string] $Path)
  $state = Read-FakeState
  $unc = Split-FakeUnc $Path
  if ($null -eq $unc) {
    if ($Path -notmatch '^([A-Za-z]:)(.*)$') { throw (New-FakeWin32Error 161) }
    $drive = Get-FakeEntry -Table (Get-FakeValue $state 'drives' @{}) -Key $Matches[1]
    if ($null -eq $drive) { throw (New-FakeWin32Error 3) }
    $rest = $Matches[2].Replace('\', '/').TrimStart('/')
    $user = Get-FakeSessionUser (Get-FakeWindows $state) $script:FakeSession
    return @{ path = $(if ($rest) { Join-Path $drive $rest } else { $drive }); user = $user }
  }
  $root = Get-FakeShareRoot -State $state -Unc $unc
  $windows = Get-FakeWindows $state
  $connection = @($windows.connections | Where-Object { $_.session -eq $script:FakeSession -and $_.server -ieq $unc.server }) | Select-Object -First 1
  if ($null -eq $connection) {
    $connection = [ordered]@{ session = $script:FakeSession; server = $unc.server; share = $unc.share; user = (Get-FakeSessionUser $windows $script:FakeSession); explicit = $false }
    $windows.connections = @($windows.connections) + @($connection)
    Save-FakeState $state
  }
  $account = Get-FakeEntry -Table (Get-FakeValue $state 'accounts' @{}) -Key $connection.user
  if ($null -eq $account -or -not (@($account.shares) | Where-Object { $_ -ieq $root })) { throw (New-FakeWin32Error 5) }
  $folder = (Get-FakeValue $state 'shares' @{})[$root]
  $rest = $unc.rest.Replace('\', '/').TrimStart('/')
  return @{ path = $(if ($rest) { Join-Path $folder $rest } else { $folder }); user = $connection.user }
}

function Add-FakeAccessCall {
  # Who read what, as the file server saw it (the connection's account), in which logon session.
  param([string] $Command, [string] $Path, [string] $User)
  $state = Read-FakeState
  Add-FakeCall -State $state -Command $Command -Parameters ([ordered]@{ session = $script:FakeSession; user = $User; path = $Path })
  Save-FakeState $state
}

function Use-FakeStoreProbe {
  <# Plays the Windows calls of CcsStoreProbe.cs (agent/powershell) with the model above. #>
  [CcsAgent.StoreProbe]::Logon = [System.Func[string, string, System.Security.SecureString, object]] {
    param($user, $domain, $password)
    $state = Enter-FakeCommand 'LogonUser' @{ user = $user; domain = $domain; password = $password }
    $verdict = Test-FakeCredential -Account (Find-FakeAccount -State $state -User $user -Domain $domain) -Password (ConvertFrom-FakeSecureString $password)
    if ($verdict -ne 0) { throw (New-FakeWin32Error $verdict) }
    $windows = Get-FakeWindows $state
    $id = 'logon-' + [System.Guid]::NewGuid().ToString('N').Substring(0, 8)
    $windows.sessions[$id] = [ordered]@{ user = $(if ($domain -and $domain -ne '.') { "$domain\$user" } else { $user }) }
    Save-FakeState $state
    return $id
  }
  [CcsAgent.StoreProbe]::RunAs = [System.Func[object, System.Func[CcsAgent.StoreProbeResult], CcsAgent.StoreProbeResult]] {
    param($token, $work)
    $outer = $script:FakeSession
    $script:FakeSession = [string]$token
    try { return $work.Invoke() } finally { $script:FakeSession = $outer }
  }
  [CcsAgent.StoreProbe]::CloseToken = [System.Action[object]] {
    param($token)
    # The last token of the logon session: the session ends, and its connections with it.
    $state = Enter-FakeCommand 'CloseHandle' @{ token = $token }
    $windows = Get-FakeWindows $state
    $windows.sessions.Remove([string]$token)
    $windows.connections = @($windows.connections | Where-Object { $_.session -ne [string]$token })
    Save-FakeState $state
  }
  [CcsAgent.StoreProbe]::ListFiles = [System.Func[string, string[]]] {
    param($path)
    $found = Resolve-FakeStorePath $path
    Add-FakeAccessCall 'ListFiles' $path $found.user
    if (-not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $found.path -PathType Container)) { throw (New-FakeWin32Error 3) }
    return , [string[]]@(Get-ChildItem -LiteralPath $found.path -File -Force | ForEach-Object { $_.Name })
  }
  [CcsAgent.StoreProbe]::FileLength = [System.Func[string, long]] {
    param($path)
    $local = (Resolve-FakeStorePath $path).path
    if (-not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $local -PathType Leaf)) { throw (New-FakeWin32Error 2) }
    return [long](Get-Item -LiteralPath $local).Length
  }
  [CcsAgent.StoreProbe]::ReadFile = [System.Func[string, byte[]]] {
    param($path)
    $found = Resolve-FakeStorePath $path
    Add-FakeAccessCall 'ReadFile' $path $found.user
    if (-not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $found.path -PathType Leaf)) { throw (New-FakeWin32Error 2) }
    return , [System.IO.File]::ReadAllBytes($found.path)
  }
}

# ------------------------------------------------------------------------------------------------
# New-PSDrive -Credential: WNetAddConnection2 in the process's own logon session.

function New-PSDrive {
  [CmdletBinding()]
  param(
    [Parameter(Mandatory = $true, Position = 0)][string] $Name,
    [Parameter(Mandatory = $true, Position = 1)][string] $PSProvider,
    [Parameter(Mandatory = $true, Position = 2)][string] $Root,
    [string] $Description,
    [string] $Scope,
    [switch] $Persist,
    [System.Management.Automation.PSCredential] $Credential
  )
  $state = Enter-FakeCommand 'New-PSDrive' $PSBoundParameters
  $unc = Split-FakeUnc $Root
  if ($null -ne $unc -and $null -ne $Credential) {
    $windows = Get-FakeWindows $state
    $root = Get-FakeShareRoot -State $state -Unc $unc
    $existing = @($windows.connections | Where-Object { $_.session -eq $script:FakeSession -and $_.server -ieq $unc.server }) | Select-Object -First 1
    if ($null -ne $existing -and $existing.user -ine $Credential.UserName) { throw (New-FakeWin32Error 1219) }
    $parts = $Credential.UserName.Split('\')
    $account = Find-FakeAccount -State $state -User $parts[-1] -Domain $(if ($parts.Count -gt 1) { $parts[0] } else { '.' })
    $verdict = Test-FakeCredential -Account $account -Password $Credential.GetNetworkCredential().Password
    if ($verdict -ne 0) { throw (New-FakeWin32Error $verdict) }
    if ($null -eq $existing) {
      $windows.connections = @($windows.connections) + @([ordered]@{ session = $script:FakeSession; server = $unc.server; share = $unc.share; user = $Credential.UserName; explicit = $true; drive = $Name })
      Save-FakeState $state
    }
    # The connection is made; only now is the root itself looked at (and may fail, leaving it).
    $rest = $unc.rest.Replace('\', '/').TrimStart('/')
    $folder = (Get-FakeValue $state 'shares' @{})[$root]
    if ($rest) { $folder = Join-Path $folder $rest }
    if (-not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $folder -PathType Container)) { throw (New-FakeWin32Error 3) }
    return Microsoft.PowerShell.Management\New-PSDrive -Name $Name -PSProvider FileSystem -Root $folder -Scope Global
  }
  return Microsoft.PowerShell.Management\New-PSDrive -Name $Name -PSProvider FileSystem -Root $Root -Scope Global
}

function Remove-PSDrive {
  # WNetCancelConnection2 of the drive's connection.
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string[]] $Name, [string] $Scope, [switch] $Force)
  $state = Enter-FakeCommand 'Remove-PSDrive' $PSBoundParameters
  $windows = Get-FakeWindows $state
  $windows.connections = @($windows.connections | Where-Object { -not ($_.Contains('drive') -and $Name -contains $_.drive) })
  Save-FakeState $state
  Microsoft.PowerShell.Management\Remove-PSDrive -Name $Name -Scope Global -Force
}
