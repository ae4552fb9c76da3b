using System.Globalization;
using Messaging.Rpc;

namespace Messaging.Perf;

/// <summary>Ours: an <see cref="RpcServer"/> with a raw echo method, called through <see cref="RpcClient"/>'s raw <c>CallAsync</c>.</summary>
internal sealed class MessagingRpcSession(string bootstrap, RpcSettings settings) : RpcSession
{
    private RpcServer? _server;
    private RpcClient? _client;
    private string _requests = "";

    public override string Name => "messaging";

    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"Messaging.Rpc RpcClient.CallAsync(raw) → RpcServer.MapRaw echo; client producer linger={settings.LingerMs} ms{(settings.LingerAlways ? " (always waited)" : "")} acks=1, server producer linger={settings.LingerMs} ms acks=all idempotent, fetch wait {settings.FetchWaitMs} ms both sides");

    public override async Task StartAsync(string requests, string replies, CancellationToken cancellationToken)
    {
        _requests = requests;
        var fetchWait = TimeSpan.FromMilliseconds(settings.FetchWaitMs);
        var linger = TimeSpan.FromMilliseconds(settings.LingerMs);
        _server = new RpcServer(new RpcServerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-rpc-server",
            RequestTopics = [requests],
            GroupId = "perf-rpc-" + Guid.NewGuid().ToString("N")[..8],
            MaxConcurrentRequests = 1024,
            MaxConcurrentRequestsPerMethod = 1024,
            Producer = new KafkaProducerOptions { Linger = linger, SendWhenIdle = !settings.LingerAlways, Acks = Acks.All, EnableIdempotence = true },
            Consumer = new KafkaConsumerOptions { FetchMaxWait = fetchWait, AutoOffsetReset = AutoOffsetReset.Earliest },
        });
        _server.MapRaw("Echo", static (payload, _) => ValueTask.FromResult(payload));
        await _server.StartAsync(cancellationToken).ConfigureAwait(false);
        _client = new RpcClient(new RpcClientOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-rpc-client",
            ReplyTopic = replies,
            ReplyPartition = 0,
            Producer = new KafkaProducerOptions { Linger = linger, SendWhenIdle = !settings.LingerAlways, Acks = Acks.Leader },
            Consumer = new KafkaConsumerOptions { FetchMaxWait = fetchWait },
        });
        await _client.StartAsync(cancellationToken).ConfigureAwait(false);
        await Poll.UntilAsync(() => _server.Assignment.Count > 0, TimeSpan.FromSeconds(60), "the RPC server joins its group", cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<byte[]> CallAsync(byte[] payload, CancellationToken cancellationToken) =>
        _client!.CallAsync(_requests, "Echo", payload, new RpcCallOptions { Timeout = settings.Timeout }, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}
