namespace Hindsight.Capture.Rendering;

/// <summary>
/// How <c>to_jsonb()</c> renders a value of a type: PostgreSQL 15's <c>jsonb_categorize_type</c>
/// (src/backend/utils/adt/jsonb.c), applied to the type after looking through domains.
/// </summary>
internal enum JsonCategory
{
    /// <summary>Everything else: a JSON string holding the type's text output (enums, ranges, money, uuid, interval, time, geometric, network, bit strings …).</summary>
    Text = 0,

    /// <summary><c>bool</c>: JSON <c>true</c>/<c>false</c>.</summary>
    Boolean,

    /// <summary><c>int2</c>, <c>int4</c>, <c>int8</c>, <c>float4</c>, <c>float8</c>, <c>numeric</c>: a JSON number, or a string for <c>NaN</c>/<c>Infinity</c>/<c>-Infinity</c>.</summary>
    Number,

    /// <summary><c>date</c>: a string in ISO 8601 form (the same as DateStyle ISO output).</summary>
    Date,

    /// <summary><c>timestamp</c>: a string in XSD form (<c>T</c> separator).</summary>
    Timestamp,

    /// <summary><c>timestamptz</c>: a string in XSD form (<c>T</c> separator, offset always <c>±HH:MM</c>).</summary>
    TimestampTz,

    /// <summary><c>json</c>: embedded as JSON.</summary>
    Json,

    /// <summary><c>jsonb</c>: embedded as JSON.</summary>
    Jsonb,

    /// <summary>A true array type (including <c>int2vector</c>/<c>oidvector</c>): a (nested) JSON array.</summary>
    Array,

    /// <summary>A composite (row) type: a JSON object keyed by attribute name.</summary>
    Composite,

    /// <summary>
    /// A user-defined type (OID ≥ 16384) with a function cast to <c>json</c>: <c>to_jsonb()</c> calls the
    /// cast. An arbitrary cast can't be evaluated from the text form, so it is rendered like
    /// <see cref="Text"/> (a known divergence from <c>to_jsonb()</c>); see <see cref="Hstore"/>.
    /// </summary>
    JsonCast,

    /// <summary>
    /// The <c>hstore</c> extension's type, whose cast to json (<c>hstore_to_json</c>) <c>to_jsonb()</c>
    /// uses: an object whose values are strings or null.
    /// </summary>
    Hstore,
}
