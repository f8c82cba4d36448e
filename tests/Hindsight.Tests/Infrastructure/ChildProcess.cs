using System.Diagnostics;
using Xunit.Abstractions;

namespace Hindsight.Tests.Infrastructure;

/// <summary>A program run to its end (at most five minutes), its output and error together, echoed to the test's output.</summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>, the .NET CLI's telemetry and logo off, plus <paramref name="environment"/>.</summary>
    public static async Task<(int Code, string Text)> RunAsync(ITestOutputHelper output, string file, IEnumerable<string> args,
        params (string Name, string Value)[] environment)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout + await stderr;
        output.WriteLine($"$ {Path.GetFileName(file)} {string.Join(' ', psi.ArgumentList)}\n{text}");
        return (process.ExitCode, text);
    }
}
