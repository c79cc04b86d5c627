# FakeIIS, part: the simulated registry (HKLM, 64-bit view) and the IISAdministration cmdlets
# that keep their state in it. Dot-sourced by FakeIIS.psm1.

$script:ProviderKey = 'SOFTWARE\Microsoft\IIS\CentralCertProvider'

function Get-FakeRegistryKey {
  # The values of one key (a dictionary), or $null; -Create makes it.
  param([System.Collections.IDictionary] $State, [string] $Key, [switch] $Create)
  $registry = Get-FakeValue $State 'registry' $null
  if ($null -eq $registry) {
    if (-not $Create) { return $null }
    $registry = [ordered]@{}
    $State.registry = $registry
  }
  foreach ($name in @($registry.Keys)) { if ($name -ieq $Key) { return $registry[$name] } }
  if (-not $Create) { return $null }
  $registry[$Key] = [ordered]@{}
  return $registry[$Key]
}

function Set-FakeRegistryValue {
  param([System.Collections.IDictionary] $State, [string] $Key, [string] $Name, [string] $Type, $Data)
  $values = Get-FakeRegistryKey -State $State -Key $Key -Create
  foreach ($existing in @($values.Keys)) { if ($existing -ieq $Name) { $values.Remove($existing) } }
  $values[$Name] = [ordered]@{ type = $Type; data = $Data }
}

function Remove-FakeRegistryValue {
  param([System.Collections.IDictionary] $State, [string] $Key, [string] $Name)
  $values = Get-FakeRegistryKey -State $State -Key $Key
  if ($null -eq $values) { return }
  foreach ($existing in @($values.Keys)) { if ($existing -ieq $Name) { $values.Remove($existing) } }
}

function Read-FakeRegistry {
  <#
    The scripts' Read-CcsRegistry in test mode: @{ name = data } of one key (absent values left
    out), $null when the key does not exist; a REG_DWORD comes back as [int], as
    RegistryKey.GetValue returns it.
  #>
  param([Parameter(Mandatory = $true)][string] $Key, [string[]] $Names = @())
  $values = Get-FakeRegistryKey -State (Read-FakeState) -Key $Key
  if ($null -eq $values) { return $null }
  $out = @{}
  foreach ($name in $Names) {
    $entry = Get-FakeEntry -Table $values -Key $name
    if ($null -eq $entry) { continue }
    $out[$name] = if ($entry.type -eq 'REG_DWORD') { [int]$entry.data } else { $entry.data }
  }
  return $out
}

function Get-FakeProviderValue {
  param([System.Collections.IDictionary] $State, [string] $Name)
  $entry = Get-FakeEntry -Table (Get-FakeRegistryKey -State $State -Key $script:ProviderKey) -Key $Name
  if ($null -eq $entry) { return $null }
  return $entry.data
}

function Assert-FakeFeatureInstalled {
  param([System.Collections.IDictionary] $State)
  if ((Get-FakeValue $State 'feature' 'Available') -ne 'Installed') {
    throw [System.InvalidOperationException]::new('The Central Certificate Store feature is not installed')
  }
}

function Set-FakeProviderValues {
  # What the cmdlets write (IIS Administration's CentralCertificateStore setters: strings as REG_SZ,
  # Enabled as a DWORD; the real passwords are encrypted, test only here).
  param([System.Collections.IDictionary] $State, [System.Collections.IDictionary] $Values)
  foreach ($name in $Values.Keys) {
    $value = $Values[$name]
    if ($name -eq 'Enabled') { Set-FakeRegistryValue -State $State -Key $script:ProviderKey -Name $name -Type 'REG_DWORD' -Data ([int]$value) }
    else { Set-FakeRegistryValue -State $State -Key $script:ProviderKey -Name $name -Type 'REG_SZ' -Data ([string]$value) }
  }
}

function Get-IISCentralCertProvider {
  <#
    Documented output: System.String (learn.microsoft.com, IISAdministration, Get-IISCentralCertProvider,
    "Outputs"). The page shows no sample, so the text here follows the one documented sample of the
    same settings, Get-WebCentralCertProvider's "Name=Value" lines. 'getOutput': 'object' plays a
    module that returned objects instead.
  #>
  [CmdletBinding()]
  param([switch] $CertStoreLocation, [switch] $UserName, [switch] $PrivateKeyPassword, [switch] $Enabled)
  $state = Enter-FakeCommand 'Get-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $enabledValue = [bool]([int](Get-FakeProviderValue $state 'Enabled') -ne 0)
  $location = Get-FakeProviderValue $state 'CertStoreLocation'
  $user = Get-FakeProviderValue $state 'UserName'
  $masked = if (Get-FakeProviderValue $state 'PrivateKeyPassword') { '*********' } else { '' }
  if ((Get-FakeValue $state 'getOutput' 'text') -eq 'object') {
    return [pscustomobject][ordered]@{ Enabled = $enabledValue; CertStoreLocation = $location; UserName = $user; PrivateKeyPassword = $masked }
  }
  $all = -not ($CertStoreLocation -or $UserName -or $PrivateKeyPassword -or $Enabled)
  if ($all -or $Enabled) { "Enabled=$enabledValue" }
  if ($all -or $CertStoreLocation) { "CertStoreLocation=$location" }
  if ($all -or $UserName) { "UserName=$user" }
  if ($all) { 'Password=*********' }
  if ($all -or $PrivateKeyPassword) { "PrivateKeyPassword=$masked" }
}

function Enable-IISCentralCertProvider {
  # All four parameters are mandatory (learn.microsoft.com, Enable-IISCentralCertProvider).
  [CmdletBinding()]
  param(
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][string] $CertStoreLocation,
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][string] $UserName,
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $Password,
    [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $PrivateKeyPassword
  )
  $state = Enter-FakeCommand 'Enable-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  Set-FakeProviderValues -State $state -Values ([ordered]@{
      Enabled            = 1
      CertStoreLocation  = $CertStoreLocation
      UserName           = $UserName
      Password           = ConvertFrom-FakeSecureString $Password
      PrivateKeyPassword = ConvertFrom-FakeSecureString $PrivateKeyPassword
    })
  Save-FakeState $state
}

function Set-IISCentralCertProvider {
  # Every parameter optional; only the given values change (learn.microsoft.com, Set-IISCentralCertProvider).
  [CmdletBinding()]
  param(
    [Parameter(ValueFromPipelineByPropertyName = $true)][string] $CertStoreLocation,
    [Parameter(ValueFromPipelineByPropertyName = $true)][string] $UserName,
    [Parameter(ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $Password,
    [Parameter(ValueFromPipelineByPropertyName = $true)][System.Security.SecureString] $PrivateKeyPassword
  )
  $state = Enter-FakeCommand 'Set-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  $values = [ordered]@{}
  if ($PSBoundParameters.ContainsKey('CertStoreLocation')) { $values.CertStoreLocation = $CertStoreLocation }
  if ($PSBoundParameters.ContainsKey('UserName')) { $values.UserName = $UserName }
  if ($PSBoundParameters.ContainsKey('Password')) { $values.Password = ConvertFrom-FakeSecureString $Password }
  if ($PSBoundParameters.ContainsKey('PrivateKeyPassword')) { $values.PrivateKeyPassword = ConvertFrom-FakeSecureString $PrivateKeyPassword }
  Set-FakeProviderValues -State $state -Values $values
  Save-FakeState $state
}

function Disable-IISCentralCertProvider {
  [CmdletBinding()]
  param()
  $state = Enter-FakeCommand 'Disable-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  Set-FakeProviderValues -State $state -Values @{ Enabled = 0 }
  Save-FakeState $state
}

function Clear-IISCentralCertProvider {
  # "You must specify the Force parameter if the Central Certificate Store feature is enabled. If you
  # specify Force, the feature is disabled and all the settings are cleared." (learn.microsoft.com)
  [CmdletBinding()]
  param([switch] $Force)
  $state = Enter-FakeCommand 'Clear-IISCentralCertProvider' $PSBoundParameters
  Assert-FakeFeatureInstalled $state
  if ([int](Get-FakeProviderValue $state 'Enabled') -ne 0 -and -not $Force) {
    throw [System.InvalidOperationException]::new('The central certificate store is enabled: specify -Force to clear it')
  }
  foreach ($name in 'CertStoreLocation', 'UserName', 'Password', 'PrivateKeyPassword') {
    Remove-FakeRegistryValue -State $state -Key $script:ProviderKey -Name $name
  }
  Set-FakeProviderValues -State $state -Values @{ Enabled = 0 }
  Save-FakeState $state
}

# ------------------------------------------------------------------------------------------------
# The registry provider (HKLM:\...) for the installer; every other path goes to the real cmdlet.

function ConvertTo-FakeRegistryPath {
  # 'HKLM:\SYSTEM\...' or 'Registry::HKEY_LOCAL_MACHINE\...' → 'SYSTEM\...'; $null for a non-registry path.
  param([string] $Path)
  if ($Path -match '^(?:HKLM:|Registry::HKEY_LOCAL_MACHINE)\\?(.*)$') { return $Matches[1].TrimEnd('\') }
  return $null
}

function Get-ItemProperty {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][Alias('LiteralPath')][string] $Path, [Parameter(Position = 1)][string[]] $Name)
  $key = ConvertTo-FakeRegistryPath $Path
  if ($null -eq $key) { return Microsoft.PowerShell.Management\Get-ItemProperty @PSBoundParameters }
  $values = Get-FakeRegistryKey -State (Read-FakeState) -Key $key
  # A missing key or value is a non-terminating error, as the registry provider writes it.
  if ($null -eq $values) { Write-Error -Message "Cannot find path '$Path' because it does not exist." -Category ObjectNotFound; return }
  $out = [ordered]@{}
  foreach ($valueName in $values.Keys) {
    if ($Name -and -not ($Name | Where-Object { $_ -ieq $valueName })) { continue }
    $entry = $values[$valueName]
    $out[$valueName] = if ($entry.type -eq 'REG_DWORD') { [int]$entry.data } elseif ($entry.type -eq 'REG_MULTI_SZ') { [string[]]@($entry.data) } else { $entry.data }
  }
  if ($Name -and $out.Count -eq 0) { Write-Error -Message "Property $Name does not exist at path $Path." -Category InvalidArgument; return }
  return [pscustomobject]$out
}

function New-ItemProperty {
  [CmdletBinding()]
  param(
    [Parameter(Mandatory = $true, Position = 0)][Alias('LiteralPath')][string] $Path,
    [Parameter(Mandatory = $true)][string] $Name,
    [string] $PropertyType = 'String',
    $Value,
    [switch] $Force
  )
  $key = ConvertTo-FakeRegistryPath $Path
  if ($null -eq $key) { return Microsoft.PowerShell.Management\New-ItemProperty @PSBoundParameters }
  $state = Enter-FakeCommand 'New-ItemProperty' $PSBoundParameters
  if ($null -eq (Get-FakeRegistryKey -State $state -Key $key)) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$Path' because it does not exist.") }
  $types = @{ String = 'REG_SZ'; ExpandString = 'REG_EXPAND_SZ'; DWord = 'REG_DWORD'; MultiString = 'REG_MULTI_SZ'; QWord = 'REG_QWORD'; Binary = 'REG_BINARY' }
  $type = $types[$PropertyType]
  $data = if ($type -eq 'REG_MULTI_SZ') { @([string[]]$Value) } elseif ($type -eq 'REG_DWORD') { [int]$Value } else { [string]$Value }
  Set-FakeRegistryValue -State $state -Key $key -Name $Name -Type $type -Data $data
  Save-FakeState $state
}

function Remove-ItemProperty {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][Alias('LiteralPath')][string] $Path, [Parameter(Mandatory = $true)][string] $Name)
  $key = ConvertTo-FakeRegistryPath $Path
  if ($null -eq $key) { return Microsoft.PowerShell.Management\Remove-ItemProperty @PSBoundParameters }
  $state = Enter-FakeCommand 'Remove-ItemProperty' $PSBoundParameters
  $values = Get-FakeRegistryKey -State $state -Key $key
  if ($null -eq $values -or $null -eq (Get-FakeEntry -Table $values -Key $Name)) {
    Write-Error -Message "Property $Name does not exist at path $Path." -Category InvalidArgument
    return
  }
  Remove-FakeRegistryValue -State $state -Key $key -Name $Name
  Save-FakeState $state
}

function New-Item {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string] $Path, [string] $ItemType, [switch] $Force, $Value)
  if ($Path -like 'IIS:\*') {
    # The IIS provider's SslBindings: http.sys's binding of a site binding (recorded).
    $state = Enter-FakeCommand 'New-Item' $PSBoundParameters
    $state.sslBindings = @(@(Get-FakeValue $state 'sslBindings' @()) + @($Path))
    Save-FakeState $state
    return
  }
  $key = ConvertTo-FakeRegistryPath $Path
  if ($null -eq $key) { return Microsoft.PowerShell.Management\New-Item @PSBoundParameters }
  $state = Enter-FakeCommand 'New-Item' $PSBoundParameters
  $null = Get-FakeRegistryKey -State $state -Key $key -Create
  Save-FakeState $state
}

function Remove-Item {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]] $Path, [string[]] $LiteralPath, [switch] $Recurse, [switch] $Force)
  $target = @($Path) + @($LiteralPath) | Where-Object { $_ } | Select-Object -First 1
  $key = ConvertTo-FakeRegistryPath $target
  if ($null -eq $key) { return Microsoft.PowerShell.Management\Remove-Item @PSBoundParameters }
  $state = Enter-FakeCommand 'Remove-Item' $PSBoundParameters
  $registry = Get-FakeValue $state 'registry' @{}
  foreach ($name in @($registry.Keys)) { if ($name -ieq $key -or $name -like "$key\*") { $registry.Remove($name) } }
  Save-FakeState $state
}
