using System.Text.Json;
using Hindsight.Model;

namespace Hindsight.Sink;

/// <summary>
/// Holds the changes of transactions that PostgreSQL streams before they commit, in local files
/// (one per transaction), so a transaction of any size costs the worker a file, not memory, and
/// costs the store one write at commit instead of a write to a staging table and a move.
/// </summary>
/// <remarks>
/// The files are transient: PostgreSQL streams an unacknowledged in-progress transaction again
/// from its first change after any restart, so a worker starts with none and removes its
/// directory when it stops. Directories left by killed workers are removed at start.
/// </remarks>
public sealed class StreamSpill : IDisposable
{
    private readonly string _directory;
    private readonly Dictionary<uint, SpillFile> _files = new();

    /// <summary>Creates the spill for a worker of <paramref name="slot"/> under <paramref name="root"/> (default: the temp directory).</summary>
    public StreamSpill(string slot, string? root = null)
    {
        var slotDirectory = Path.Combine(root ?? Path.Combine(Path.GetTempPath(), "hindsight-spill"), Sanitize(slot));
        RemoveDirectoriesOfDeadWorkers(slotDirectory);
        _directory = Path.Combine(slotDirectory, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        Directory.CreateDirectory(_directory);
    }

    /// <summary>Transactions currently spilled.</summary>
    public int Count => _files.Count;

    /// <summary>Appends a change of (sub)transaction <paramref name="subXid"/> of streamed transaction <paramref name="topXid"/>.</summary>
    public void Append(uint topXid, uint subXid, ChangeRecord record)
    {
        if (!_files.TryGetValue(topXid, out var file))
            _files[topXid] = file = new SpillFile(Path.Combine(_directory, $"{topXid}.spill"));
        file.Append(subXid, record);
    }

    /// <summary>Forgets the changes of an aborted subtransaction, or the whole transaction when <paramref name="subXid"/> is <paramref name="topXid"/>.</summary>
    public void Abort(uint topXid, uint subXid)
    {
        if (subXid == topXid) Remove(topXid);
        else if (_files.TryGetValue(topXid, out var file)) file.Aborted.Add(subXid);
    }

    /// <summary>The surviving changes of a transaction, in the order they were streamed.</summary>
    public IEnumerable<ChangeRecord> Read(uint topXid) =>
        _files.TryGetValue(topXid, out var file) ? file.Read() : [];

    /// <summary>Deletes a transaction's file.</summary>
    public void Remove(uint topXid)
    {
        if (_files.Remove(topXid, out var file)) file.Dispose();
    }

    /// <summary>The last after-image of a row among a streamed transaction's surviving changes (a scan: a rare path).</summary>
    public JsonElement? LastImage(uint topXid, string schema, string table, string primaryKey)
    {
        string? found = null;
        foreach (var r in Read(topXid))
            if (r.PrimaryKey == primaryKey && r.Table == table && r.Schema == schema)
                found = r.Operation == Operation.Delete ? null : r.After;
        if (found is null) return null;
        using var doc = JsonDocument.Parse(found);
        return doc.RootElement.Clone();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files.Values) file.Dispose();
        _files.Clear();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { /* removed at the next start */ }
    }

    private static string Sanitize(string slot) =>
        string.Concat(slot.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '-'));

    private static void RemoveDirectoriesOfDeadWorkers(string slotDirectory)
    {
        if (!Directory.Exists(slotDirectory)) return;
        foreach (var dir in Directory.GetDirectories(slotDirectory))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && pid != Environment.ProcessId && IsAlive(pid)) continue;
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* another worker's start removes it */ }
        }
    }

    private static bool IsAlive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>One streamed transaction's changes: length-prefixed binary records.</summary>
    private sealed class SpillFile : IDisposable
    {
        private readonly string _path;
        private readonly FileStream _stream;
        private readonly BinaryWriter _writer;

        public SpillFile(string path)
        {
            _path = path;
            _stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
            _writer = new BinaryWriter(_stream);
        }

        public HashSet<uint> Aborted { get; } = new();

        public void Append(uint subXid, ChangeRecord r)
        {
            _writer.Write(subXid);
            _writer.Write(r.Schema);
            _writer.Write(r.Table);
            _writer.Write(r.PrimaryKey is not null);
            if (r.PrimaryKey is not null) _writer.Write(r.PrimaryKey);
            _writer.Write((byte)r.Operation);
            _writer.Write(r.Before);
            _writer.Write(r.After);
            _writer.Write(r.Context);
            _writer.Write(r.Position);
            _writer.Write(r.QueuedAt.Ticks);
        }

        public IEnumerable<ChangeRecord> Read()
        {
            _writer.Flush();
            using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            using var reader = new BinaryReader(stream);
            var end = _stream.Length;
            while (stream.Position < end)
            {
                var subXid = reader.ReadUInt32();
                var record = new ChangeRecord
                {
                    Schema = reader.ReadString(),
                    Table = reader.ReadString(),
                    PrimaryKey = reader.ReadBoolean() ? reader.ReadString() : null,
                    Operation = (Operation)reader.ReadByte(),
                    Before = reader.ReadString(),
                    After = reader.ReadString(),
                    Context = reader.ReadString(),
                    Position = reader.ReadUInt64(),
                    QueuedAt = new DateTime(reader.ReadInt64(), DateTimeKind.Utc),
                };
                if (!Aborted.Contains(subXid)) yield return record;
            }
        }

        public void Dispose()
        {
            _writer.Dispose();
            try { File.Delete(_path); } catch (IOException) { /* the directory goes at stop */ }
        }
    }
}
