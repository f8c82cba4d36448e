namespace Hindsight.Context;

/// <summary>
/// The wire protocol (docs/design.md, "The context protocol"): a transactional logical decoding message with prefix
/// <c>hindsight</c> whose payload is the context as a JSON object. It applies to every row change
/// that follows it in the same transaction, until the next such message.
/// </summary>
public static class HindsightProtocol
{
    /// <summary>The message prefix the capture worker reads.</summary>
    public const string Prefix = "hindsight";

    /// <summary>
    /// The prefix of Bemi's context messages (its ORM packages, and the trigger <c>setup --bemi-compat</c> installs), which
    /// the capture worker reads as context too.
    /// </summary>
    public const string BemiPrefix = "_bemi";

    /// <summary>
    /// The key of a stored context under which Hindsight writes what it adds itself: <c>revertOf</c> on the changes a
    /// revert makes, <c>contextError</c> where a context message broke a rule. Applications leave it to Hindsight.
    /// </summary>
    public const string ContextKey = "hindsight";

    /// <summary>
    /// The statement that emits a context passed as parameter <paramref name="placeholder"/>
    /// (<c>$1</c>, <c>@ctx</c>, …). The JSON is always a parameter, never spliced into SQL text.
    /// </summary>
    /// <remarks><c>transactional = true</c>: the message is decoded with, and only if, its transaction commits.</remarks>
    public static string EmitSql(string placeholder) =>
        $"SELECT pg_logical_emit_message(true, '{Prefix}', {placeholder}::text)";
}
