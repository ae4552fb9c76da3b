using Messaging.Rpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>
/// Runs a registered <see cref="RpcServer"/> for the host's lifetime: created and started when the host starts (a
/// setting the server rejects fails the start with the key named, as the options validation does), disposed gracefully
/// when it stops — no more requests taken, the running handlers finish and their replies go out within
/// <see cref="RpcServerOptions.DrainTimeout"/>, the answered offsets are committed and the member leaves its group.
/// </summary>
/// <remarks>
/// The host's stop token bounds the wait: when the host's shutdown timeout runs out first, <see cref="StopAsync"/>
/// returns (logged) while the server's disposal goes on; the container's disposal does not wait for it again.
/// </remarks>
internal sealed class RpcServerHostedService(IServiceProvider provider, string? serviceKey, string? sectionPath) : IHostedService
{
    private readonly string _name = serviceKey ?? Options.DefaultName;
    private readonly RpcServerHostingLog _log = new((provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Messaging.Hosting.RpcServer"));
    private RpcServer? _server;

    private string DisplayName => serviceKey ?? "(default)";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        RpcServer server;
        try
        {
            server = serviceKey is null ? provider.GetRequiredService<RpcServer>() : provider.GetRequiredKeyedService<RpcServer>(serviceKey);
        }
        catch (ArgumentException e)
        {
            // Validated at start already; a setting the server still refuses is reported the same way.
            throw new OptionsValidationException(_name, typeof(RpcServerOptions), [KafkaOptionsValidator<RpcServerOptions>.Describe(e, sectionPath)]);
        }

        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        _server = server;
        var options = provider.GetRequiredService<IOptionsMonitor<RpcServerOptions>>().Get(_name);
        _log.Started(DisplayName, options.RequestTopics, options.GroupId);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not { } server)
        {
            return;
        }

        try
        {
            await server.DisposeAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            _log.Stopped(DisplayName);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.StopAbandoned(DisplayName, provider.GetRequiredService<IOptionsMonitor<RpcServerOptions>>().Get(_name).DrainTimeout);
        }
    }
}
