namespace Hindsight.Capture;

/// <summary>How pgoutput sent one column of a tuple.</summary>
internal enum ColumnValueKind : byte
{
    /// <summary>SQL NULL.</summary>
    Null,
    /// <summary>An out-of-line (TOAST) value that the change did not touch; pgoutput does not resend it.</summary>
    UnchangedToast,
    /// <summary>A value in PostgreSQL's text output form.</summary>
    Text,
}

/// <summary>One column of a decoded tuple, copied out of the replication stream.</summary>
internal readonly record struct ColumnValue(ColumnValueKind Kind, string? Text)
{
    /// <summary>SQL NULL.</summary>
    public static readonly ColumnValue Null = new(ColumnValueKind.Null, null);

    /// <summary>An unchanged TOAST value (no data sent).</summary>
    public static readonly ColumnValue UnchangedToast = new(ColumnValueKind.UnchangedToast, null);
}
