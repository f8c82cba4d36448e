namespace Hindsight.Store;

/// <summary>
/// Store migration 14: the tamper-evident chain (docs/verification.md). Each source's changes are chained as they are
/// written: blocks of at most 1,024 changes in the store transaction that stores them (leaf hashes, a root over their runs, the previous block's
/// hash), an RFC 6962 tree over the block hashes with every 256th and 65,536th interior node kept for inclusion
/// proofs, and the signed checkpoints of that tree. The changes themselves are not altered.
/// </summary>
internal static class ChainMigration
{
    public const string Sql =
        """
        CREATE TABLE hindsight.chain_blocks (
            source              text COLLATE "C" NOT NULL,
            block               bigint      NOT NULL,
            prev_hash           bytea       NOT NULL,
            hash                bytea       NOT NULL,
            root                bytea       NOT NULL,
            changes             int         NOT NULL,
            total_changes       bigint      NOT NULL,
            prior_changes       bigint      NOT NULL,
            run_commit_lsns     bigint[]    NOT NULL,
            run_first_ordinals  int[]       NOT NULL,
            run_counts          int[]       NOT NULL,
            run_committed_ats   timestamptz[] NOT NULL,
            leaves              bytea       NOT NULL,
            frontier            bytea       NOT NULL,
            last_commit_lsn     bigint      NOT NULL,
            created_at          timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source, block)
        );
        -- An inclusion proof finds a change's block by its commit LSN.
        CREATE INDEX chain_blocks_runs_idx ON hindsight.chain_blocks USING gin (run_commit_lsns);
        -- Stored uncompressed out of line, so an inclusion proof reads a slice of a large block's leaves, not all of them.
        ALTER TABLE hindsight.chain_blocks ALTER COLUMN leaves SET STORAGE EXTERNAL;
        CREATE TABLE hindsight.chain_nodes (
            source  text COLLATE "C" NOT NULL,
            level   smallint NOT NULL,
            index   bigint   NOT NULL,
            hash    bytea    NOT NULL,
            PRIMARY KEY (source, level, index)
        );
        CREATE TABLE hindsight.checkpoints (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source          text COLLATE "C" NOT NULL,
            blocks          bigint      NOT NULL,
            changes         bigint      NOT NULL,
            position        bigint      NOT NULL,
            root            bytea       NOT NULL,
            head            bytea       NOT NULL,
            made_at         timestamptz NOT NULL,
            key_id          text        NOT NULL,
            signature       bytea       NOT NULL,
            document        text        NOT NULL
        );
        CREATE INDEX checkpoints_source_idx ON hindsight.checkpoints (source, blocks);
        CREATE TABLE hindsight.chain_keys (
            key_id      text PRIMARY KEY,
            public_key  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO hindsight.settings (name, value) VALUES ('chain', 'on') ON CONFLICT (name) DO NOTHING;
        """;
}
