using System.Data;
using System.Data.Common;
using Hindsight.Context;

namespace Hindsight.EntityFrameworkCore;

/// <summary>Prepends the context-emitting statement to an ExecuteUpdate/ExecuteDelete/ExecuteSql command EF Core is about to run.</summary>
internal static class EmitStatement
{
    private const string ParameterName = "hindsight_context";

    // A comment on the first line marks commands we changed, so ReaderExecuted knows to skip the
    // emit's result set; it cannot be confused with EF's own SQL.
    private const string Marker = "-- hindsight context\n";

    public static bool IsPrepended(DbCommand command) => command.CommandText.StartsWith(Marker, StringComparison.Ordinal);

    /// <summary>
    /// Puts <c>SELECT pg_logical_emit_message(…)</c> before the command's SQL, as the first
    /// statement of the same round trip (and so of the same implicit or explicit transaction).
    /// </summary>
    /// <remarks>
    /// EF Core names every parameter it sends (it even names DbParameters passed to ExecuteSqlRaw without
    /// a name), so Npgsql parses the text, rewrites <c>@name</c> placeholders and splits the statements;
    /// a named parameter for the context fits that. (Positional <c>$1</c> SQL with unnamed parameters does
    /// not work through EF Core at all, with or without Hindsight.)
    /// </remarks>
    public static void Prepend(DbCommand command, string json)
    {
        var parameter = command.CreateParameter();
        parameter.DbType = DbType.String;
        parameter.Value = json;
        var name = ParameterName;
        for (var i = 1; command.Parameters.Contains(name); i++) name = ParameterName + i;
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        command.CommandText = Marker + HindsightProtocol.EmitSql("@" + name) + ";\n" + command.CommandText;
    }
}
