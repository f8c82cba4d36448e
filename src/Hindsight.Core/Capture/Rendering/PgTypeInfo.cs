using System.Text.Encodings.Web;
using System.Text.Json;

namespace Hindsight.Capture.Rendering;

/// <summary>
/// What the renderer needs to know about a PostgreSQL type to turn its text output into the JSON
/// that <c>to_jsonb()</c> gives. Immutable; built by <see cref="PgTypeCatalog"/> (or by the
/// factory methods, for types known without a catalog lookup).
/// </summary>
/// <remarks>
/// For a domain, <see cref="Category"/>, <see cref="Element"/>, <see cref="Delimiter"/> and
/// <see cref="Attributes"/> are those of its base type (<c>to_jsonb()</c> looks through domains
/// first), while <see cref="Oid"/> and <see cref="Name"/> stay the domain's own.
/// </remarks>
internal sealed class PgTypeInfo
{
    /// <summary>Well-known OIDs of the built-in types whose JSON category is not <see cref="JsonCategory.Text"/>.</summary>
    public static class Oids
    {
        /// <summary><c>bool</c>.</summary>
        public const uint Bool = 16;
        /// <summary><c>int8</c>.</summary>
        public const uint Int8 = 20;
        /// <summary><c>int2</c>.</summary>
        public const uint Int2 = 21;
        /// <summary><c>int2vector</c> (a true array with space-separated text form).</summary>
        public const uint Int2Vector = 22;
        /// <summary><c>int4</c>.</summary>
        public const uint Int4 = 23;
        /// <summary><c>text</c>.</summary>
        public const uint Text = 25;
        /// <summary><c>oid</c>.</summary>
        public const uint Oid = 26;
        /// <summary><c>oidvector</c> (a true array with space-separated text form).</summary>
        public const uint OidVector = 30;
        /// <summary><c>json</c>.</summary>
        public const uint Json = 114;
        /// <summary><c>float4</c>.</summary>
        public const uint Float4 = 700;
        /// <summary><c>float8</c>.</summary>
        public const uint Float8 = 701;
        /// <summary><c>date</c>.</summary>
        public const uint Date = 1082;
        /// <summary><c>timestamp</c>.</summary>
        public const uint Timestamp = 1114;
        /// <summary><c>timestamptz</c>.</summary>
        public const uint TimestampTz = 1184;
        /// <summary><c>numeric</c>.</summary>
        public const uint Numeric = 1700;
        /// <summary><c>record</c> (anonymous row type).</summary>
        public const uint Record = 2249;
        /// <summary><c>jsonb</c>.</summary>
        public const uint Jsonb = 3802;
        /// <summary>The first OID assigned to user-defined objects (<c>FirstNormalObjectId</c>).</summary>
        public const uint FirstNormalObjectId = 16384;
    }

    private static readonly PgAttribute[] NoAttributes = [];

    private PgTypeInfo(
        uint oid, string schema, string name, char kind, JsonCategory category,
        PgTypeInfo? baseType, PgTypeInfo? element, char delimiter, bool isVector, PgAttribute[] attributes,
        string? jsonCastFunction = null)
    {
        JsonCastFunction = jsonCastFunction;
        Oid = oid;
        Schema = schema;
        Name = name;
        Kind = kind;
        Category = category;
        BaseType = baseType;
        Element = element;
        Delimiter = delimiter;
        IsVector = isVector;
        AttributeArray = attributes;
    }

    /// <summary>The type's OID.</summary>
    public uint Oid { get; }

    /// <summary>The schema the type lives in (<c>pg_catalog</c> for built-in types).</summary>
    public string Schema { get; }

    /// <summary>The type's name (<c>pg_type.typname</c>), e.g. <c>int4</c>, <c>_text</c>.</summary>
    public string Name { get; }

    /// <summary><c>pg_type.typtype</c>: <c>b</c>ase, <c>c</c>omposite, <c>d</c>omain, <c>e</c>num, <c>p</c>seudo, <c>r</c>ange, <c>m</c>ultirange.</summary>
    public char Kind { get; }

    /// <summary>How <c>to_jsonb()</c> renders values of this type (of its base type, for a domain).</summary>
    public JsonCategory Category { get; }

    /// <summary>For a domain, its ultimate base type (domains over domains are followed); otherwise null.</summary>
    public PgTypeInfo? BaseType { get; }

    /// <summary>For an array (or a domain over one), the element type; otherwise null.</summary>
    public PgTypeInfo? Element { get; }

    /// <summary>For an array, the delimiter between elements in its text form (the element type's <c>typdelim</c>: <c>;</c> for <c>box</c>, else <c>,</c>).</summary>
    public char Delimiter { get; }

    /// <summary>True for <c>int2vector</c>/<c>oidvector</c>, arrays whose text form is space-separated without braces.</summary>
    public bool IsVector { get; }

    /// <summary>For a composite (or a domain over one), its live attributes in <c>attnum</c> order (dropped ones skipped); otherwise empty.</summary>
    public IReadOnlyList<PgAttribute> Attributes => AttributeArray;

    internal PgAttribute[] AttributeArray { get; }

    /// <summary>
    /// For a user-defined type with a function cast to <c>json</c> (which <c>to_jsonb()</c> uses), the
    /// cast function's name; otherwise null.
    /// </summary>
    public string? JsonCastFunction { get; }

    /// <summary>True when this is a domain.</summary>
    public bool IsDomain => BaseType is not null;

    /// <summary>The JSON category of a non-array, non-composite built-in type with OID <paramref name="oid"/>.</summary>
    public static JsonCategory CategoryOfScalar(uint oid) => oid switch
    {
        Oids.Bool => JsonCategory.Boolean,
        Oids.Int2 or Oids.Int4 or Oids.Int8 or Oids.Float4 or Oids.Float8 or Oids.Numeric => JsonCategory.Number,
        Oids.Date => JsonCategory.Date,
        Oids.Timestamp => JsonCategory.Timestamp,
        Oids.TimestampTz => JsonCategory.TimestampTz,
        Oids.Json => JsonCategory.Json,
        Oids.Jsonb => JsonCategory.Jsonb,
        _ => JsonCategory.Text,
    };

    /// <summary>
    /// A scalar (non-array, non-composite, non-domain) type. The category follows from the OID
    /// (<see cref="CategoryOfScalar"/>), except that a user-defined type with a function cast to json
    /// (<paramref name="jsonCastFunction"/>) is <see cref="JsonCategory.JsonCast"/>, or
    /// <see cref="JsonCategory.Hstore"/> for the hstore extension's type.
    /// </summary>
    /// <param name="oid">The type's OID.</param>
    /// <param name="name">The type's name.</param>
    /// <param name="kind"><c>pg_type.typtype</c>.</param>
    /// <param name="schema">The type's schema.</param>
    /// <param name="jsonCastFunction">The name of the function of the type's cast to <c>json</c>, if it has one.</param>
    public static PgTypeInfo Scalar(uint oid, string name, char kind = 'b', string schema = "pg_catalog", string? jsonCastFunction = null)
    {
        var category = CategoryOfScalar(oid);
        if (category != JsonCategory.Text || oid < Oids.FirstNormalObjectId) jsonCastFunction = null;
        else if (jsonCastFunction is not null)
            category = name == "hstore" && jsonCastFunction == "hstore_to_json" ? JsonCategory.Hstore : JsonCategory.JsonCast;
        return new PgTypeInfo(oid, schema, name, kind, category, null, null, ',', false, NoAttributes, jsonCastFunction);
    }

    /// <summary>A true array type with element type <paramref name="element"/>.</summary>
    /// <param name="oid">The array type's OID.</param>
    /// <param name="name">The array type's name.</param>
    /// <param name="element">The element type.</param>
    /// <param name="delimiter">The element type's <c>typdelim</c>.</param>
    /// <param name="schema">The type's schema.</param>
    public static PgTypeInfo Array(uint oid, string name, PgTypeInfo element, char delimiter = ',', string schema = "pg_catalog")
    {
        ArgumentNullException.ThrowIfNull(element);
        var vector = oid is Oids.Int2Vector or Oids.OidVector;
        return new PgTypeInfo(oid, schema, name, 'b', JsonCategory.Array, null, element, vector ? ' ' : delimiter, vector, NoAttributes);
    }

    /// <summary>A composite type with the given live attributes, in <c>attnum</c> order.</summary>
    /// <param name="oid">The composite type's OID.</param>
    /// <param name="name">The type's name.</param>
    /// <param name="attributes">The attributes (dropped ones left out).</param>
    /// <param name="schema">The type's schema.</param>
    public static PgTypeInfo Composite(uint oid, string name, IEnumerable<PgAttribute> attributes, string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(attributes);
        return new PgTypeInfo(oid, schema, name, 'c', JsonCategory.Composite, null, null, ',', false, attributes.ToArray());
    }

    /// <summary>A domain over <paramref name="baseType"/> (which may itself be a domain).</summary>
    /// <param name="oid">The domain's OID.</param>
    /// <param name="name">The domain's name.</param>
    /// <param name="baseType">The type the domain is declared over.</param>
    /// <param name="schema">The domain's schema.</param>
    public static PgTypeInfo Domain(uint oid, string name, PgTypeInfo baseType, string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(baseType);
        var root = baseType.BaseType ?? baseType;
        return new PgTypeInfo(oid, schema, name, 'd', root.Category, root, root.Element, root.Delimiter, root.IsVector, root.AttributeArray, root.JsonCastFunction);
    }

    /// <summary>Whether this type refers (as base, element or attribute type) directly to a type with OID <paramref name="oid"/>.</summary>
    internal bool DependsDirectlyOn(uint oid)
    {
        if (BaseType?.Oid == oid || Element?.Oid == oid) return true;
        foreach (var a in AttributeArray)
            if (a.Type.Oid == oid) return true;
        return false;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Schema}.{Name} (oid {Oid}, {Category})";
}

/// <summary>An attribute of a composite type.</summary>
internal sealed class PgAttribute
{
    /// <summary>Creates an attribute.</summary>
    /// <param name="name">The attribute's name (the JSON key <c>to_jsonb()</c> uses).</param>
    /// <param name="type">The attribute's type.</param>
    public PgAttribute(string name, PgTypeInfo type)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(type);
        Name = name;
        Type = type;
        EncodedName = JsonEncodedText.Encode(name, JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
    }

    /// <summary>The attribute's name.</summary>
    public string Name { get; }

    /// <summary>The attribute's type.</summary>
    public PgTypeInfo Type { get; }

    /// <summary>The name, pre-encoded as a JSON property name.</summary>
    internal JsonEncodedText EncodedName { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Type.Name}";
}
