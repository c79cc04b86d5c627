# FIXTURE for ps51-compat.test.ts: every construct here exists only in PowerShell 6+; the 5.1 check
# must find each one. Never run.
#Requires -Version 7.2
$a = $null
$b = $a ?? 'default'
$a ??= 'set'
$c = $a ? 'yes' : 'no'
$d = ${a}?.Length
$e = ${a}?[0]
Get-Date && Get-Date
Get-Date || Get-Date
$f = "`u{2713} `e[0m"
$g = 10u
1..3 | ForEach-Object -Parallel { $_ }
$h = ConvertFrom-Json -InputObject '{}' -AsHashtable
Test-Json -Json '{}'
Get-Content -LiteralPath x -AsByteStream
Set-Content -LiteralPath x -Value y -Encoding utf8NoBOM
Get-Date -ProgressAction SilentlyContinue
function Get-Clean { process { 1 } clean { 2 } }
