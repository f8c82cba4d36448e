using Microsoft.Extensions.Options;

namespace Hindsight.Hosting;

/// <summary>Checks the bound options at start, naming each bad key, so that a host with a wrong setting does not start.</summary>
internal sealed class HindsightCaptureOptionsValidator(string sectionPath) : IValidateOptions<HindsightCaptureOptions>
{
    public ValidateOptionsResult Validate(string? name, HindsightCaptureOptions options)
    {
        var failures = new List<string>();
        void Fail(string key, string problem) => failures.Add($"{Key(key)} {problem}");
        if (string.IsNullOrWhiteSpace(options.SourceConnectionString)) Fail(nameof(options.SourceConnectionString), "is required: the tracked database's connection string");
        if (string.IsNullOrWhiteSpace(options.Slot)) Fail(nameof(options.Slot), "must not be empty");
        if (string.IsNullOrWhiteSpace(options.Publication)) Fail(nameof(options.Publication), "must not be empty");
        if (options.BatchSize <= 0) Fail(nameof(options.BatchSize), $"must be positive (is {options.BatchSize})");
        if (options.MaxChangesPerStoreTransaction <= 0) Fail(nameof(options.MaxChangesPerStoreTransaction), $"must be positive (is {options.MaxChangesPerStoreTransaction})");
        if (options.ContextSizeLimit <= 0) Fail(nameof(options.ContextSizeLimit), $"must be positive (is {options.ContextSizeLimit})");
        if (options.CommitInterval < TimeSpan.Zero || options.CommitInterval > TimeSpan.FromSeconds(10)) Fail(nameof(options.CommitInterval), $"must be between 0 and 10 s (is {options.CommitInterval})");
        if (options.ReadPause < TimeSpan.Zero || options.ReadPause > TimeSpan.FromSeconds(1)) Fail(nameof(options.ReadPause), $"must be between 0 and 1 s (is {options.ReadPause})");
        if (options.HeartbeatInterval < TimeSpan.Zero) Fail(nameof(options.HeartbeatInterval), "must not be negative");
        if (options.StandbyPollInterval <= TimeSpan.Zero) Fail(nameof(options.StandbyPollInterval), "must be positive");
        if (options.CheckpointInterval <= TimeSpan.Zero) Fail(nameof(options.CheckpointInterval), "must be positive");
        if (options.MaxLagBytes < 0) Fail(nameof(options.MaxLagBytes), "must not be negative");
        if (options.MaxLag < TimeSpan.Zero) Fail(nameof(options.MaxLag), "must not be negative");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private string Key(string property) => string.IsNullOrEmpty(sectionPath) ? property : $"{sectionPath}:{property}";
}
