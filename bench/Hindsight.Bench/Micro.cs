using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Hindsight.Capture;
using Hindsight.Capture.Rendering;
using Hindsight.Stitch;
using System.Text.Json;
using System.Buffers;

namespace Hindsight.Bench;

/// <summary>BenchmarkDotNet micro-benchmarks of the rendering hot path.</summary>
internal static class Micro
{
    public static int Run(string[] args)
    {
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "hindsight-bench-artifacts"))
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
        BenchmarkSwitcher.FromTypes([typeof(RenderBenchmarks)]).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
        return 0;
    }
}

/// <summary>The images of one row of the benchmark table (id, n, label, amount, at, doc), as Stitch renders them.</summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private RelationInfo _relation = null!;
    private ColumnValue[] _old = null!;
    private ColumnValue[] _new = null!;
    private RowImageWriter _images = null!;
    private Utf8JsonWriter _writer = null!;
    private ArrayBufferWriter<byte> _buffer = null!;
    private PgTypeInfo _numeric = null!, _timestamptz = null!, _jsonb = null!, _text = null!, _int8 = null!;

    [GlobalSetup]
    public void Setup()
    {
        _int8 = PgTypeInfo.Scalar(PgTypeInfo.Oids.Int8, "int8");
        _text = PgTypeInfo.Scalar(PgTypeInfo.Oids.Text, "text");
        _numeric = PgTypeInfo.Scalar(PgTypeInfo.Oids.Numeric, "numeric");
        _timestamptz = PgTypeInfo.Scalar(PgTypeInfo.Oids.TimestampTz, "timestamptz");
        _jsonb = PgTypeInfo.Scalar(PgTypeInfo.Oids.Jsonb, "jsonb");
        _relation = new RelationInfo(16384, "public", "items",
        [
            new RelationColumn("id", _int8), new RelationColumn("n", PgTypeInfo.Scalar(PgTypeInfo.Oids.Int4, "int4")),
            new RelationColumn("label", _text), new RelationColumn("amount", _numeric),
            new RelationColumn("at", _timestamptz), new RelationColumn("doc", _jsonb),
        ], [0], true);
        static ColumnValue T(string s) => new(ColumnValueKind.Text, s);
        _old = [T("123457"), T("457"), T("item 123457"), T("169136.09"), T("2024-01-02 10:17:37+00"),
                T("{\"id\": 123457, \"ok\": true, \"tags\": [\"a\", \"b\"]}")];
        _new = [T("123457"), T("458"), T("item 123457 v2"), T("169137.09"), T("2024-01-02 11:17:37+00"),
                T("{\"v\": 17, \"id\": 123457, \"ok\": true, \"tags\": [\"a\", \"b\"]}")];
        _images = new RowImageWriter(new byte[32]);
        _buffer = new ArrayBufferWriter<byte>(4096);
        _writer = new Utf8JsonWriter(_buffer);
    }

    /// <summary>An UPDATE under REPLICA IDENTITY FULL: key + before + after.</summary>
    [Benchmark(Baseline = true)]
    public int UpdateImages()
    {
        var key = _images.PrimaryKey(_relation, _new, _old);
        var before = _images.Render(_relation, _old, null);
        var after = _images.Render(_relation, _new, null, toastSource: _old);
        return key!.Length + before.Length + after.Length;
    }

    /// <summary>An INSERT: key + after.</summary>
    [Benchmark]
    public int InsertImage()
    {
        var key = _images.PrimaryKey(_relation, _new);
        return key!.Length + _images.Render(_relation, _new, null).Length;
    }

    [Benchmark]
    public long Numeric() => Value(_numeric, "169137.09");

    [Benchmark]
    public long TimestampTz() => Value(_timestamptz, "2024-01-02 11:17:37+00");

    [Benchmark]
    public long Jsonb() => Value(_jsonb, "{\"v\": 17, \"id\": 123457, \"ok\": true, \"tags\": [\"a\", \"b\"]}");

    [Benchmark]
    public long Text() => Value(_text, "item 123457 v2");

    private long Value(PgTypeInfo type, string text)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        PgValueRenderer.WriteValue(_writer, type, text);
        _writer.Flush();
        return _writer.BytesCommitted;
    }
}
