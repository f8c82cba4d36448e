using System.Text;
using Microsoft.Extensions.Logging;

namespace Hindsight.Tests.Infrastructure;

/// <summary>A logger factory that keeps every formatted log line (with exceptions), so tests can read what a worker said.</summary>
public sealed class CollectingLoggerFactory : ILoggerFactory
{
    private readonly StringBuilder _text = new();

    /// <summary>Everything logged so far, one entry a line.</summary>
    public string Text { get { lock (_text) return _text.ToString(); } }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider) { }

    /// <inheritdoc />
    public void Dispose() { }

    private void Add(string line) { lock (_text) _text.AppendLine(line); }

    private sealed class Logger(CollectingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
    }
}
