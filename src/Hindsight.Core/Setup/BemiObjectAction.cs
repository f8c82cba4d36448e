
namespace Hindsight.Setup;

/// <summary>What <c>setup --bemi-compat</c> did to one kind of object.</summary>
public enum BemiObjectAction
{
    /// <summary>It did not exist and was created.</summary>
    Created,
    /// <summary>It existed in another version or form and was replaced.</summary>
    Updated,
    /// <summary>It was already in place as wanted.</summary>
    Unchanged,
    /// <summary>It was not created: the role is not a superuser (event triggers need one).</summary>
    SkippedNotSuperuser,
}
