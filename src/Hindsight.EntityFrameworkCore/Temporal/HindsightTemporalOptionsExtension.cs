using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>The options of <c>UseHindsightTemporal</c>, kept in the context's options (and its service provider's key).</summary>
internal sealed class HindsightTemporalOptionsExtension(HindsightTemporalOptions options) : IDbContextOptionsExtension
{
    public HindsightTemporalOptions Options { get; } = options;

    // EF Core reads it whenever it looks for the context's internal service provider: made once.
    public DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    private ExtensionInfo? _info;

    // The query services are swapped with ReplaceService (it works whichever of UseNpgsql/UseHindsightTemporal comes first);
    // the options go into the internal service provider, which EF Core builds once per distinct set of options
    // (GetServiceProviderHashCode, ShouldUseSameServiceProvider), so the SQL generator's factory (a singleton) can take them.
    public void ApplyServices(IServiceCollection services) => services.AddSingleton(Options.Copy());

    public void Validate(IDbContextOptions options) { }

    private sealed class ExtensionInfo(HindsightTemporalOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        private new HindsightTemporalOptionsExtension Extension => (HindsightTemporalOptionsExtension)base.Extension;

        public override bool IsDatabaseProvider => false;

        public override string LogFragment =>
            $"HindsightTemporal(Source={Extension.Options.Source ?? "current_database()"}, StoreSchema={Extension.Options.StoreSchema}) ";

        public override int GetServiceProviderHashCode() =>
            HashCode.Combine(Extension.Options.Source, Extension.Options.StoreSchema, Extension.Options.RequireCompleteHistory);

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other) =>
            other is ExtensionInfo o && o.Extension.Options.Source == Extension.Options.Source
            && o.Extension.Options.StoreSchema == Extension.Options.StoreSchema
            && o.Extension.Options.RequireCompleteHistory == Extension.Options.RequireCompleteHistory;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            debugInfo["Hindsight:Temporal:Source"] = Extension.Options.Source ?? "";
            debugInfo["Hindsight:Temporal:StoreSchema"] = Extension.Options.StoreSchema;
            debugInfo["Hindsight:Temporal:RequireCompleteHistory"] = Extension.Options.RequireCompleteHistory ? "1" : "0";
        }
    }
}
