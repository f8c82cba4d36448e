using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Hindsight.EntityFrameworkCore;

/// <summary>Which EF Core commands are writes that must carry the context.</summary>
internal static class WriteSources
{
    // Queries, FromSql, value generators (sequences) and scaffolding are reads; migrations change
    // schema, not rows an audit trail describes; Unknown is EF-internal plumbing. All left untouched.
    public static bool IsWrite(CommandSource source) => source is
        CommandSource.SaveChanges or CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete or CommandSource.ExecuteSqlRaw;
}
