using System.Net;
using System.Net.Sockets;

namespace Messaging.Testing.Security;

/// <summary>One listener of a <see cref="KafkaProxy"/>: in front of one broker, with its own faults and counters.</summary>
public sealed class ProxyListener : IAsyncDisposable
{
    private readonly KafkaProxy _proxy;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<ProxyConnection> _connections = [];
    private readonly Lock _lock = new();
    private Task _accept = Task.CompletedTask;

    internal ProxyListener(KafkaProxy proxy, string upstreamHost, int upstreamPort)
    {
        _proxy = proxy;
        UpstreamHost = upstreamHost;
        UpstreamPort = upstreamPort;
        _listener.Start();
    }

    /// <summary>The proxy's port for this broker.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The broker's host.</summary>
    public string UpstreamHost { get; }

    /// <summary>The broker's port.</summary>
    public int UpstreamPort { get; }

    /// <summary>The broker's node id, once a Metadata response named it; -1 before.</summary>
    public int NodeId { get; internal set; } = -1;

    /// <summary>Faults and counters of this broker's connections.</summary>
    public ProxyFaults Faults { get; } = new();

    /// <summary>Closes every open connection through this listener now (as a broker restart would).</summary>
    public void CloseConnections()
    {
        List<ProxyConnection> open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        foreach (var connection in open)
        {
            connection.Abort();
        }
    }

    /// <summary>Stops listening and closes every connection through this listener.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        CloseConnections();
        await _accept.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    internal void Start(CancellationToken stop) => _accept = AcceptAsync(stop);

    internal void Forget(ProxyConnection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
        }
    }

    private async Task AcceptAsync(CancellationToken stop)
    {
        var served = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(stop).ConfigureAwait(false);
                Faults.CountConnection();
                if (Faults.RefuseConnections)
                {
                    socket.LingerState = new LingerOption(true, 0); // a reset, like a closed port behind a load balancer
                    socket.Dispose();
                    continue;
                }

                var connection = new ProxyConnection(_proxy, this, socket);
                lock (_lock)
                {
                    _connections.Add(connection);
                }

                served.Add(connection.RunAsync(stop));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Disposal stops the listener; between two accepts that makes the next one throw InvalidOperationException
            // ("Not listening") instead of a cancellation — the same end of the loop.
        }

        await Task.WhenAll(served).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
    }
}
