using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Update;

namespace Hindsight.EntityFrameworkCore;

// EF1001: the Npgsql provider's batch types live in an .Internal namespace. Replacing this provider service is
// EF Core's supported extension point for changing how SaveChanges batches are built and read, and deriving from
// the provider's own batch keeps everything else (SQL generation, stored procedures, limits) exactly as Npgsql does it.
#pragma warning disable EF1001

/// <summary>
/// Creates <see cref="HindsightModificationCommandBatch"/>es (registered by <c>UseHindsight()</c> in place of the
/// Npgsql provider's factory), so every SaveChanges command carries the current context as its first statement.
/// </summary>
internal sealed class HindsightModificationCommandBatchFactory : IModificationCommandBatchFactory
{
    // The Npgsql factory's default (NpgsqlModificationCommandBatchFactory.DefaultMaxBatchSize, private there).
    private const int DefaultMaxBatchSize = 1000;

    private readonly ModificationCommandBatchFactoryDependencies _dependencies;
    private readonly int _maxBatchSize;
    private readonly RelationalTypeMapping _text;

    public HindsightModificationCommandBatchFactory(
        ModificationCommandBatchFactoryDependencies dependencies, IDbContextOptions options, IRelationalTypeMappingSource typeMappingSource)
    {
        _dependencies = dependencies;
        _text = typeMappingSource.GetMapping(typeof(string)); // the context parameter's mapping (text), looked up once per DbContext
        // MaxBatchSize(n) on UseNpgsql is stored in the provider's RelationalOptionsExtension; the Npgsql factory reads it the same way
        // (and the options builder already rejected values below 1).
        _maxBatchSize = RelationalOptionsExtension.Extract(options).MaxBatchSize ?? DefaultMaxBatchSize;
    }

    public ModificationCommandBatch Create() => new HindsightModificationCommandBatch(_dependencies, _maxBatchSize, _text);
}
