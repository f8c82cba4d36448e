using System.Diagnostics.CodeAnalysis;
using Hindsight.Configuration;

namespace Hindsight.Setup;

/// <summary>Settings of <c>hindsight teardown</c>.</summary>
public sealed class TeardownOptions : ConnectionOptions
{
    /// <summary>Settings given with an object initializer.</summary>
    public TeardownOptions() { }

    /// <summary>Teardown of the installation <paramref name="connection"/> names; the other settings keep their defaults.</summary>
    [SetsRequiredMembers]
    public TeardownOptions(ConnectionOptions connection) : base(connection) { }

    /// <summary>Also remove the stored changes: the <c>hindsight</c> schema (see <see cref="TeardownRunner"/>).</summary>
    public bool Purge { get; init; }

    /// <summary>Terminate a worker that holds the slot instead of refusing.</summary>
    public bool Force { get; init; }

    /// <summary>How long to keep trying to drop a slot that a terminated worker takes again.</summary>
    public TimeSpan ForceTimeout { get; init; } = TimeSpan.FromSeconds(15);
}
