namespace Hindsight.Postgres;

/// <summary>The server versions (<c>server_version_num</c>) from which PostgreSQL offers what Hindsight uses when it can.</summary>
internal static class PgFeatures
{
    /// <summary>The first server version whose publications can send stored generated columns.</summary>
    public const int PublishGeneratedColumnsSince = 180000;
}
