#:package Microsoft.CodeAnalysis.CSharp@5.12.0
#:property ManagePackageVersionsCentrally=false
#:property PublishAot=false

// Rewrites every `await using` that declares its resource so that the disposal is awaited with ConfigureAwait(false)
// (analyzer CA2007), keeping the resource's own type for the code that uses it:
//
//   await using var cmd = INIT;            var cmd = INIT;
//                                    =>    await using var cmdDisposal = cmd.ConfigureAwait(false);
//
//   await using (var cmd = INIT) BODY      var cmd = INIT;
//                                    =>    await using (cmd.ConfigureAwait(false)) BODY
//
// A using statement whose variable name is declared elsewhere in the same block (or that is not directly in a block)
// is wrapped in a block of its own, so the variable keeps its scope. A resource that may be null (its initializer has
// a null literal, ?., ?? or as) goes through OptionalAsyncDisposable, since ConfigureAwait on null fails at disposal.
// Awaits, `await foreach` and `await using (expression)` are left to the CA2007 code fix (dotnet format analyzers).
//
// Usage: dotnet run eng/configure-await-using.cs -- <folder or .cs file>...
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

const string Suffix = "Disposal";
const string OptionalHelper = "OptionalAsyncDisposable";
const string OptionalHelperNamespace = "Hindsight.Postgres";

var files = args.SelectMany(a => Directory.Exists(a)
        ? Directory.EnumerateFiles(a, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
        : [a])
    .Order(StringComparer.Ordinal)
    .ToList();
var changed = 0;
foreach (var file in files)
{
    var original = File.ReadAllText(file);
    var text = original;
    var needsHelper = false;
    while (true)
    {
        var root = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Preview)).GetCompilationUnitRoot();
        var next = root.DescendantNodes().FirstOrDefault(IsCandidate);
        if (next is null) break;
        (text, var optional) = Rewrite(text, next);
        needsHelper |= optional;
    }
    if (needsHelper) text = AddUsing(text, OptionalHelperNamespace);
    if (text == original) continue;
    File.WriteAllText(file, text);
    changed++;
    Console.WriteLine(file);
}
Console.Error.WriteLine($"{changed} file(s) rewritten");
return 0;

static bool IsCandidate(SyntaxNode node) => node switch
{
    LocalDeclarationStatementSyntax d => d.AwaitKeyword != default && d.UsingKeyword != default && !IsConfigured(d.Declaration),
    UsingStatementSyntax u => u.AwaitKeyword != default && u.Declaration is not null,
    _ => false,
};

static bool IsConfigured(VariableDeclarationSyntax declaration) =>
    declaration.Variables.All(v => v.Initializer?.Value is InvocationExpressionSyntax
    {
        Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "ConfigureAwait" },
    });

static (string Text, bool Optional) Rewrite(string text, SyntaxNode node)
{
    var declaration = node is LocalDeclarationStatementSyntax d ? d.Declaration : ((UsingStatementSyntax)node).Declaration!;
    if (declaration.Variables.Count != 1)
        throw new InvalidOperationException($"{Where(node)}: one variable per await using, please");
    var variable = declaration.Variables[0];
    var name = variable.Identifier.Text;
    var optional = MayBeNull(declaration);
    var configured = optional ? $"{OptionalHelper}.ConfigureAwait({name}, false)" : $"{name}.ConfigureAwait(false)";
    var awaitStart = node is LocalDeclarationStatementSyntax ld ? ld.AwaitKeyword.SpanStart : ((UsingStatementSyntax)node).AwaitKeyword.SpanStart;
    var lineStart = text.LastIndexOf('\n', awaitStart - 1) + 1;
    var indent = text[lineStart..awaitStart];
    if (indent.Any(c => !char.IsWhiteSpace(c)))
        throw new InvalidOperationException($"{Where(node)}: await using does not start its line");
    var newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";

    if (node is LocalDeclarationStatementSyntax local)
    {
        // Drop "await using ", then add the configured disposal on the next line.
        var sb = new StringBuilder();
        sb.Append(text, 0, awaitStart);
        sb.Append(text, declaration.SpanStart, local.FullSpan.End - declaration.SpanStart);
        if (!EndsWithNewline(sb)) sb.Append(newline);
        sb.Append(indent).Append($"await using var {name}{Suffix} = {configured};").Append(newline);
        sb.Append(text, local.FullSpan.End, text.Length - local.FullSpan.End);
        return (sb.ToString(), optional);
    }

    var statement = (UsingStatementSyntax)node;
    var wrap = statement.Parent is not BlockSyntax and not SwitchSectionSyntax || IsDeclaredElsewhere(statement, variable);
    var rest = (Start: statement.CloseParenToken.Span.End, End: statement.Span.End);
    var verbatim = VerbatimStrings(statement);
    string Slice(int start, int end) => wrap ? Indent(text, start, end, verbatim) : text[start..end];
    var inner = wrap ? indent + "    " : indent;
    var result = new StringBuilder();
    result.Append(text, 0, lineStart);
    if (wrap) result.Append(indent).Append('{').Append(newline);
    result.Append(inner).Append(Slice(declaration.SpanStart, declaration.Span.End)).Append(';').Append(newline);
    result.Append(inner).Append($"await using ({configured})");
    result.Append(Slice(rest.Start, rest.End));
    if (wrap) result.Append(newline).Append(indent).Append('}');
    result.Append(text, statement.Span.End, text.Length - statement.Span.End);
    return (result.ToString(), optional);
}

static bool EndsWithNewline(StringBuilder sb) => sb.Length > 0 && sb[^1] == '\n';

static bool MayBeNull(VariableDeclarationSyntax declaration) =>
    declaration.Type is NullableTypeSyntax
    || declaration.Variables[0].Initializer?.Value.DescendantNodesAndSelf().Any(n => n switch
    {
        LiteralExpressionSyntax l => l.IsKind(SyntaxKind.NullLiteralExpression),
        ConditionalAccessExpressionSyntax => true,
        BinaryExpressionSyntax b => b.IsKind(SyntaxKind.CoalesceExpression) || b.IsKind(SyntaxKind.AsExpression),
        _ => false,
    }) == true;

// Whether the block holding the statement declares the same name anywhere else: turning the using statement's
// variable into a local of that block would then clash.
static bool IsDeclaredElsewhere(UsingStatementSyntax statement, VariableDeclaratorSyntax variable)
{
    var name = variable.Identifier.Text;
    return statement.Parent!.DescendantNodes().Any(n => n != variable && n switch
    {
        VariableDeclaratorSyntax v => v.Identifier.Text == name,
        SingleVariableDesignationSyntax s => s.Identifier.Text == name,
        ForEachStatementSyntax f => f.Identifier.Text == name,
        CatchDeclarationSyntax c => c.Identifier.Text == name,
        ParameterSyntax p => p.Identifier.Text == name,
        LocalFunctionStatementSyntax l => l.Identifier.Text == name,
        _ => false,
    });
}

// Spans of multi-line verbatim strings (their lines are text, not code, and are never re-indented); raw strings are
// re-indented with their closing quotes, which keeps their content.
static List<TextSpan> VerbatimStrings(SyntaxNode node) =>
    node.DescendantNodes().Where(n => n is LiteralExpressionSyntax { Token.Text: ['@', ..] }
            || n is InterpolatedStringExpressionSyntax i && i.StringStartToken.Text.Contains('@'))
        .Select(n => n.Span).ToList();

static string Indent(string text, int start, int end, List<TextSpan> verbatim)
{
    var sb = new StringBuilder();
    for (var i = start; i < end; i++)
    {
        sb.Append(text[i]);
        if (text[i] != '\n' || i + 1 >= end) continue;
        var next = text[i + 1];
        if (next is '\n' or '\r') continue;
        if (verbatim.Any(s => s.Start < i + 1 && i + 1 < s.End)) continue;
        sb.Append("    ");
    }
    return sb.ToString();
}

static string AddUsing(string text, string ns)
{
    var root = CSharpSyntaxTree.ParseText(text).GetCompilationUnitRoot();
    if (root.Usings.Any(u => u.Name?.ToString() == ns)) return text;
    var fileNamespace = root.Members.OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault();
    if (fileNamespace?.Name.ToString() is { } current && (current == ns || current.StartsWith(ns + ".", StringComparison.Ordinal)))
        return text;
    var newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
    var line = $"using {ns};{newline}";
    if (root.Usings.Count == 0) return line + newline + text;
    // Keep the usings in order: before the first one that sorts after it, else after the last.
    var after = root.Usings.FirstOrDefault(u => string.CompareOrdinal(u.Name?.ToString(), ns) > 0 && u.Name?.ToString().StartsWith("System", StringComparison.Ordinal) != true);
    var at = after?.FullSpan.Start ?? root.Usings.Last().FullSpan.End;
    return text.Insert(at, line);
}

static string Where(SyntaxNode node)
{
    var line = node.GetLocation().GetLineSpan();
    return $"{line.Path}:{line.StartLinePosition.Line + 1}";
}
