<#
.SYNOPSIS
  Windows job step: one call to the local stack's API (.local\stack.json), waiting for the final
  answer (Prefer: wait=60), failing unless the status is the expected one. Secrets in the body come
  from environment variables: -Body names them as {{ENV:NAME}}.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][ValidateSet('GET', 'POST', 'PATCH', 'DELETE')][string] $Method,
  [Parameter(Mandatory = $true)][string] $Resource,
  [string] $Body,
  [Parameter(Mandatory = $true)][int] $ExpectStatus,
  [string] $LocalDir = (Join-Path (Split-Path -Parent (Split-Path -Parent $PSScriptRoot)) '.local')
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$stack = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText((Join-Path $LocalDir 'stack.json')))
$request = [System.Net.HttpWebRequest]::Create("$($stack.api)/$($Resource.TrimStart('/'))")
$request.Method = $Method
$request.Timeout = 90000
$request.Headers.Add('Access-Token', "Bearer $($stack.accessToken)")
$request.Headers.Add('Prefer', 'wait=60')
if ($Body) {
  $text = [regex]::Replace($Body, '\{\{ENV:([A-Z0-9_]+)\}\}', { param($m) [System.Environment]::GetEnvironmentVariable($m.Groups[1].Value) -replace '(["\\])', '\$1' })
  $bytes = [System.Text.Encoding]::UTF8.GetBytes($text)
  $request.ContentType = 'application/json'
  $stream = $request.GetRequestStream()
  $stream.Write($bytes, 0, $bytes.Length)
  $stream.Close()
}
try { $response = $request.GetResponse() }
catch [System.Net.WebException] { $response = $_.Exception.Response; if ($null -eq $response) { throw } }
$status = [int]$response.StatusCode
$reader = New-Object System.IO.StreamReader($response.GetResponseStream())
$answer = $reader.ReadToEnd()
$reader.Close()
Write-Host "$Method /$($Resource.TrimStart('/')) -> $status $answer"
if ($status -ne $ExpectStatus) { throw "Expected $ExpectStatus, got $status" }
