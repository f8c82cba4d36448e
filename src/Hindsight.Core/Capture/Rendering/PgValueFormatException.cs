namespace Hindsight.Capture.Rendering;

/// <summary>
/// A value's text form does not fit its type as <see cref="PgTypeInfo"/> describes it: a malformed
/// array or record literal, or a record with a different number of fields than the cached composite
/// type has attributes (the type was altered after it was loaded). The writer holds a partial value:
/// discard the output, <see cref="PgTypeCatalog.Invalidate"/> the type, resolve it again and re-render.
/// </summary>
internal sealed class PgValueFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="type">The type being rendered.</param>
    /// <param name="message">What was wrong.</param>
    public PgValueFormatException(PgTypeInfo type, string message)
        : base($"Cannot render a value of type {type}: {message}")
    {
        TypeOid = type.Oid;
    }

    /// <summary>The OID of the type whose text did not fit.</summary>
    public uint TypeOid { get; }
}
