using System.Buffers.Binary;

namespace Hindsight.Bench;

/// <summary>
/// Reads pg_recvlogical's output of a pgoutput slot (each message followed by a newline) and notes, for every
/// commit message, the source commit time it carries and when it arrived here: the floor for commit-to-seen latency.
/// </summary>
/// <remarks>
/// Only walks the message framing (pgoutput protocol 2: begin, commit, relation, type, insert, update, delete,
/// truncate, logical message, origin, and the stream messages); the newline after each message is checked, so a
/// misparse fails loudly instead of producing figures. pg_recvlogical write()s each message unbuffered.
/// </remarks>
internal sealed class PgOutputCommits(Stream input)
{
    private static readonly long PgEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
    private readonly byte[] _buf = new byte[1 << 20];
    private int _pos, _len;
    private long _lastReadTicks;
    private bool _inStream;

    private readonly List<(long Commit, long Arrived)> _commits = [];
    private int _count;

    /// <summary>Commits read so far (any thread).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>(commit time, arrival time) in UtcNow ticks, per commit (including stream commits). Read after <see cref="Run"/> returned.</summary>
    public IReadOnlyList<(long Commit, long Arrived)> Commits => _commits;

    /// <summary>Reads until the stream ends (pg_recvlogical exits). Blocking: run it on a thread of its own.</summary>
    public void Run()
    {
        while (Fill(1))
        {
            var type = (char)_buf[_pos++];
            var xid = _inStream && type is 'I' or 'U' or 'D' or 'T' or 'R' or 'Y' or 'M' ? 4 : 0;
            switch (type)
            {
                case 'B': Skip(20); break;
                case 'C': Commit(0); break;
                case 'c': Commit(4); _inStream = false; break; // stream commit: xid first
                case 'S': Skip(5); _inStream = true; break;
                case 'E': _inStream = false; break;
                case 'A': Skip(8); break;
                case 'O': Skip(8); CString(); break;
                case 'Y': Skip(xid + 4); CString(); CString(); break;
                case 'R':
                {
                    Skip(xid + 4); CString(); CString(); Skip(1);
                    var n = Int16();
                    for (var i = 0; i < n; i++) { Skip(1); CString(); Skip(8); }
                    break;
                }
                case 'I': Skip(xid + 4); Expect('N'); Tuple(); break;
                case 'U':
                {
                    Skip(xid + 4);
                    var k = Byte();
                    if (k is 'K' or 'O') { Tuple(); Expect('N'); }
                    else if (k != 'N') throw Bad($"update tuple kind '{(char)k}'");
                    Tuple();
                    break;
                }
                case 'D': Skip(xid + 4); if (Byte() is not ('K' or 'O')) throw Bad("delete tuple kind"); Tuple(); break;
                case 'T': { Skip(xid); var n = Int32(); Skip(1 + 4 * n); break; }
                case 'M': { Skip(xid + 9); CString(); Skip(Int32()); break; }
                default: throw Bad($"message type '{type}'");
            }
            Expect('\n');
        }
    }

    private void Commit(int xid)
    {
        Skip(xid + 17); // [xid], flags, commit LSN, end LSN
        var micros = Int64();
        _commits.Add((PgEpochTicks + micros * 10, _lastReadTicks));
        Interlocked.Increment(ref _count);
    }

    private void Tuple()
    {
        var n = Int16();
        for (var i = 0; i < n; i++)
        {
            var kind = Byte();
            if (kind is 't' or 'b') Skip(Int32());
            else if (kind is not ('n' or 'u')) throw Bad($"column kind '{(char)kind}'");
        }
    }

    private InvalidDataException Bad(string what) => new($"pg_recvlogical output: unexpected {what} (after {Commits.Count} commits)");

    private void Expect(char c) { if (Byte() != c) throw Bad($"byte, expected '{(c == '\n' ? "\\n" : c.ToString())}'"); }

    private char Byte() { Need(1); return (char)_buf[_pos++]; }

    private int Int16() { Need(2); var v = BinaryPrimitives.ReadInt16BigEndian(_buf.AsSpan(_pos)); _pos += 2; return v; }

    private int Int32() { Need(4); var v = BinaryPrimitives.ReadInt32BigEndian(_buf.AsSpan(_pos)); _pos += 4; return v; }

    private long Int64() { Need(8); var v = BinaryPrimitives.ReadInt64BigEndian(_buf.AsSpan(_pos)); _pos += 8; return v; }

    private void CString()
    {
        while (true)
        {
            Need(1);
            var end = Array.IndexOf(_buf, (byte)0, _pos, _len - _pos);
            if (end >= 0) { _pos = end + 1; return; }
            _pos = _len; // a long name: keep reading
        }
    }

    private void Skip(int n)
    {
        while (n > 0)
        {
            Need(1);
            var take = Math.Min(n, _len - _pos);
            _pos += take;
            n -= take;
        }
    }

    private void Need(int n) { if (!Fill(n)) throw Bad("end of stream"); }

    /// <summary>Makes <paramref name="n"/> bytes available at _pos; false at the end of the stream.</summary>
    private bool Fill(int n)
    {
        if (_len - _pos >= n) return true;
        if (_pos > 0) { Buffer.BlockCopy(_buf, _pos, _buf, 0, _len - _pos); _len -= _pos; _pos = 0; }
        while (_len < n)
        {
            var read = input.Read(_buf, _len, _buf.Length - _len);
            if (read == 0) return false;
            _lastReadTicks = DateTime.UtcNow.Ticks;
            _len += read;
        }
        return true;
    }
}
