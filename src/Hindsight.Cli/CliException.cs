namespace Hindsight.Cli;

/// <summary>A usage error found by the CLI itself.</summary>
internal sealed class CliException(string message) : Exception(message);
