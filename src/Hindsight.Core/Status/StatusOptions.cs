using System.Diagnostics.CodeAnalysis;
using Hindsight.Configuration;

namespace Hindsight.Status;

/// <summary>Settings of <c>hindsight status</c>.</summary>
public sealed class StatusOptions : ConnectionOptions
{
    /// <summary>Settings given with an object initializer.</summary>
    public StatusOptions() { }

    /// <summary>The status of the installation <paramref name="connection"/> names; the other settings keep their defaults.</summary>
    [SetsRequiredMembers]
    public StatusOptions(ConnectionOptions connection) : base(connection) { }

    /// <summary>Unhealthy above this many bytes of WAL not yet confirmed by the worker. Default 1 GiB.</summary>
    public long MaxLagBytes { get; init; } = DefaultMaxLagBytes;

    /// <summary>Unhealthy when the store has not advanced for this long while WAL is pending. Default 10 minutes.</summary>
    public TimeSpan MaxLag { get; init; } = TimeSpan.FromSeconds(DefaultMaxLagSeconds);

    /// <summary>The default of <see cref="MaxLagBytes"/>.</summary>
    public const long DefaultMaxLagBytes = 1L << 30;

    /// <summary>The default of <see cref="MaxLag"/>, in seconds.</summary>
    public const int DefaultMaxLagSeconds = 600;
}
