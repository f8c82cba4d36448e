namespace Hindsight.Model;

/// <summary>Why a column's value in a stored image is not the row's data.</summary>
public enum UntrackedReason
{
    /// <summary>
    /// A generated column the source does not publish (stored generated columns before PostgreSQL 18, virtual ones
    /// always): the images have no value for it.
    /// </summary>
    Generated,

    /// <summary>
    /// A redacted column (<c>--redact-columns</c>): the image holds a keyed digest (<c>redacted:</c> and 16 lowercase
    /// hex digits) that shows whether the value changed, never the value.
    /// </summary>
    Redacted,
}
