using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Storage;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>A <see cref="TrainingWorker"/> composed as the hosts compose it (its jobs run as real child processes) on a test store.</summary>
public static class InProcessWorker
{
    public static TrainingWorker Create(TestStore store, ITestOutputHelper? output = null, bool standalone = true)
    {
        var services = new ServiceCollection();
        services.AddSingleton(Options.Create(store.Options));
        services.AddLogging(b =>
        {
            if (output is not null) b.AddProvider(new TestOutputLoggerProvider(output));
        });
        services.AddRnnLmStore().AddTrainingWorker(standalone);
        var provider = services.BuildServiceProvider();
        return provider.GetServices<IHostedService>().OfType<TrainingWorker>().Single();
    }

    private sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(output);
        public void Dispose() { }

        private sealed class Logger(ITestOutputHelper output) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                try { output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {formatter(state, exception)}"); }
                catch (InvalidOperationException) { } // output after the test finished
            }
        }
    }
}
