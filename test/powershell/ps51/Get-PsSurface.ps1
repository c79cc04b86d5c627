<#
.SYNOPSIS
  Walks the AST of PowerShell files (pwsh's own parser) and prints, as JSON, what the Windows
  PowerShell 5.1 check needs: parse errors, syntax newer than 5.1, #Requires, the functions each
  file defines, and every command call with its parameter names and constant arguments.
  Run by test/powershell/ps51-compat.test.ts; judged against ps51-catalogue.json there.

  Newer syntax, from "What's New in PowerShell" (learn.microsoft.com) for 6.x and 7.x: the ternary
  operator, pipeline chains (&&, ||), the null operators (??, ??=, ?., ?[]) — all 7.0; the clean
  block (7.3); the `u{…} and `e escapes (6.0); numeric suffixes u, ul, us, y, uy, s (6.2) and n (7.0).
#>
param([Parameter(Mandatory = $true, ValueFromRemainingArguments = $true)][string[]] $Path)

$newTokens = @{ QuestionQuestion = '??'; QuestionQuestionEquals = '??='; QuestionDot = '?.'; QuestionLBracket = '?[]'; AndAnd = '&&'; OrOr = '||' }
$A = [System.Management.Automation.Language.Ast]

$files = foreach ($file in $Path) {
  $tokens = $null; $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
  $syntax = [System.Collections.Generic.List[object]]::new()
  $add = { param($node, $what) $syntax.Add([ordered]@{ line = $node.Extent.StartLineNumber; what = $what }) }

  foreach ($t in $tokens) {
    $kind = $t.Kind.ToString()
    if ($newTokens.ContainsKey($kind)) { & $add $t "operator $($newTokens[$kind])" }
    if ($t -is [System.Management.Automation.Language.StringExpandableToken] -and $t.Text -match '`u\{|`e') { & $add $t 'escape `u{} or `e' }
    if ($kind -eq 'Number' -and $t.Text -match '^[0-9.x]+[a-f0-9]*(u|ul|us|uy|y|s|n)$') { & $add $t "numeric suffix in $($t.Text)" }
  }
  foreach ($n in $ast.FindAll({ param($x) $x.GetType().Name -in @('TernaryExpressionAst', 'PipelineChainAst') }, $true)) {
    & $add $n $n.GetType().Name
  }
  foreach ($n in $ast.FindAll({ param($x) $x -is [System.Management.Automation.Language.ScriptBlockAst] }, $true)) {
    if ($null -ne $n.PSObject.Properties['CleanBlock'] -and $null -ne $n.CleanBlock) { & $add $n.CleanBlock 'clean block' }
  }
  $requires = $ast.ScriptRequirements
  if ($null -ne $requires) {
    if ($null -ne $requires.RequiredPSVersion -and $requires.RequiredPSVersion -gt [version]'5.1') { $syntax.Add([ordered]@{ line = 1; what = "#Requires -Version $($requires.RequiredPSVersion)" }) }
    if ($requires.RequiredPSEditions -contains 'Core') { $syntax.Add([ordered]@{ line = 1; what = '#Requires -PSEdition Core' }) }
  }

  $functions = @($ast.FindAll({ param($x) $x -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true) | ForEach-Object { $_.Name })
  $commands = foreach ($c in $ast.FindAll({ param($x) $x -is [System.Management.Automation.Language.CommandAst] }, $true)) {
    $name = $c.GetCommandName()
    if (-not $name) { continue }
    $parameters = [System.Collections.Generic.List[object]]::new()
    $elements = $c.CommandElements
    for ($i = 1; $i -lt $elements.Count; $i++) {
      $e = $elements[$i]
      if ($e -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
      $value = $null
      $argument = $e.Argument
      if ($null -eq $argument -and $i + 1 -lt $elements.Count -and $elements[$i + 1] -isnot [System.Management.Automation.Language.CommandParameterAst]) { $argument = $elements[$i + 1] }
      if ($argument -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $value = $argument.Value }
      $parameters.Add([ordered]@{ name = $e.ParameterName; value = $value })
    }
    [ordered]@{ line = $c.Extent.StartLineNumber; name = $name; parameters = @($parameters) }
  }
  [ordered]@{
    file      = $file
    errors    = @($errors | ForEach-Object { '{0}: {1}' -f $_.Extent.StartLineNumber, $_.Message })
    syntax    = @($syntax)
    functions = $functions
    commands  = @($commands)
  }
}
ConvertTo-Json -InputObject @($files) -Depth 8 -Compress
