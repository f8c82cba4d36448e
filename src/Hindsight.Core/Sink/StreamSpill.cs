using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

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
internal sealed class StreamSpill : IDisposable
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

    /// <summary>Appends an encoded change (a <see cref="ChangeRowEncoder"/> tuple) of (sub)transaction
    /// <paramref name="subXid"/> of streamed transaction <paramref name="topXid"/>.</summary>
    public void Append(uint topXid, uint subXid, ReadOnlySpan<byte> tuple)
    {
        if (!_files.TryGetValue(topXid, out var file))
            _files[topXid] = file = new SpillFile(Path.Combine(_directory, $"{topXid}.spill"));
        file.Append(subXid, tuple);
    }

    /// <summary>Forgets the changes of an aborted subtransaction, or the whole transaction when <paramref name="subXid"/> is <paramref name="topXid"/>.</summary>
    public void Abort(uint topXid, uint subXid)
    {
        if (subXid == topXid) Remove(topXid);
        else if (_files.TryGetValue(topXid, out var file)) file.Aborted.Add(subXid);
    }

    /// <summary>
    /// The surviving tuples of a transaction, in the order they were streamed. Each is a view of a
    /// reused buffer, valid (and writable, to complete it) until the next one is read.
    /// </summary>
    public IEnumerable<Memory<byte>> Read(uint topXid) =>
        _files.TryGetValue(topXid, out var file) ? file.Read() : [];

    /// <summary>Deletes a transaction's file.</summary>
    public void Remove(uint topXid)
    {
        if (_files.Remove(topXid, out var file)) file.Dispose();
    }

    /// <summary>The last after-image of a row among a streamed transaction's surviving changes (a scan: a rare path).</summary>
    public JsonElement? LastImage(uint topXid, string schema, string table, string primaryKey)
    {
        byte[]? found = null;
        var (s, t, k) = (Encoding.UTF8.GetBytes(schema), Encoding.UTF8.GetBytes(table), Encoding.UTF8.GetBytes(primaryKey));
        foreach (var tuple in Read(topXid))
        {
            var span = tuple.Span;
            if (ChangeRowEncoder.IsNull(span, ChangeRowEncoder.Field.PrimaryKey)
                || !ChangeRowEncoder.Read(span, ChangeRowEncoder.Field.PrimaryKey).SequenceEqual(k)
                || !ChangeRowEncoder.Read(span, ChangeRowEncoder.Field.Table).SequenceEqual(t)
                || !ChangeRowEncoder.Read(span, ChangeRowEncoder.Field.Schema).SequenceEqual(s)) continue;
            found = ChangeRowEncoder.Read(span, ChangeRowEncoder.Field.Operation).SequenceEqual("DELETE"u8)
                ? null
                : ChangeRowEncoder.Read(span, ChangeRowEncoder.Field.After)[1..].ToArray(); // after the jsonb version byte
        }
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

    /// <summary>One streamed transaction's changes: records of (subtransaction id, length, tuple).</summary>
    private sealed class SpillFile : IDisposable
    {
        private readonly string _path;
        private readonly FileStream _stream;

        public SpillFile(string path)
        {
            _path = path;
            _stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        }

        public HashSet<uint> Aborted { get; } = new();

        public void Append(uint subXid, ReadOnlySpan<byte> tuple)
        {
            Span<byte> head = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(head, subXid);
            BinaryPrimitives.WriteInt32LittleEndian(head[4..], tuple.Length);
            _stream.Write(head);
            _stream.Write(tuple);
        }

        public IEnumerable<Memory<byte>> Read()
        {
            _stream.Flush();
            var end = _stream.Length;
            using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            var head = new byte[8];
            var buffer = new byte[4096];
            while (stream.Position < end)
            {
                stream.ReadExactly(head);
                var subXid = BinaryPrimitives.ReadUInt32LittleEndian(head);
                var length = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(4));
                if (Aborted.Contains(subXid)) { stream.Seek(length, SeekOrigin.Current); continue; }
                if (buffer.Length < length) buffer = new byte[Math.Max(length, buffer.Length * 2)];
                stream.ReadExactly(buffer, 0, length);
                yield return buffer.AsMemory(0, length);
            }
        }

        public void Dispose()
        {
            _stream.Dispose();
            try { File.Delete(_path); } catch (IOException) { /* the directory goes at stop */ }
        }
    }
}
