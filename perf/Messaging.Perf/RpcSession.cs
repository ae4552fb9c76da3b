namespace Messaging.Perf;

/// <summary>One client's request/reply pair for an <c>rpc</c> run: a server echoing raw payloads and a client calling it, both in this process.</summary>
internal abstract class RpcSession : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>For the run's header: the design and the settings that matter.</summary>
    public abstract string Description { get; }

    /// <summary>Brings both sides up (the server owns its partitions, the client reads its reply partition).</summary>
    public abstract Task StartAsync(string requests, string replies, CancellationToken cancellationToken);

    /// <summary>One call: sends <paramref name="payload"/>, returns the echoed reply.</summary>
    public abstract ValueTask<byte[]> CallAsync(byte[] payload, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
