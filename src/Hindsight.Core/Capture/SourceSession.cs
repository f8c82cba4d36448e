using Npgsql;

namespace Hindsight.Capture;

/// <summary>
/// Session settings forced on the replication connection. pgoutput renders values with the
/// walsender's output functions, so these settings decide the text we receive; they are the
/// ones under which our JSON rendering matches <c>to_jsonb()</c> (docs/design.md, "Images and fidelity": session TimeZone UTC).
/// </summary>
internal static class SourceSession
{
    /// <summary>The startup options (libpq <c>options</c>) sent with the replication connection.</summary>
    public const string Options =
        "-c DateStyle=ISO,YMD -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=1 -c bytea_output=hex";

    /// <summary>Returns <paramref name="connectionString"/> with <see cref="Options"/> applied.</summary>
    public static string Apply(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? Options : builder.Options + " " + Options;
        return builder.ConnectionString;
    }
}
