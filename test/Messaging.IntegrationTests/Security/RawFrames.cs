using System.Buffers.Binary;
using System.Net.Sockets;
using Messaging.IntegrationTests.EmbeddedBroker;
using Messaging.Protocol;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>Kafka frames over a plain stream, for tests that look at exactly what the proxy sends back and when.</summary>
internal static class RawFrames
{
    /// <summary>Proxy options enabling PLAIN for alice (password "secret").</summary>
    public static KafkaProxyOptions PlainAlice()
    {
        var options = new KafkaProxyOptions();
        options.SaslMechanisms.Add("PLAIN");
        options.Users["alice"] = "secret";
        return options;
    }

    /// <summary>A plain TCP connection to the proxy's first listener.</summary>
    public static async Task<TcpClient> ConnectAsync(KafkaProxy proxy, CancellationToken ct)
    {
        var (host, port) = ClusterLifecycleTests.FirstEndpoint(proxy.BootstrapServers);
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(host, port, ct);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public static async Task SendAsync<TRequest>(Stream stream, TRequest request, short version, int correlationId, CancellationToken ct)
        where TRequest : IKafkaMessage<TRequest>
    {
        using var buffer = new ContiguousBufferWriter();
        KafkaFrames.WriteRequest(buffer, request, version, correlationId, "raw-client");
        await stream.WriteAsync(buffer.WrittenMemory, ct);
    }

    /// <summary>The next frame (without its size prefix); null when the peer closed the connection.</summary>
    /// <exception cref="TimeoutException">Neither a frame nor the end of the stream came within <paramref name="within"/>.</exception>
    public static async Task<byte[]?> ReadAsync(Stream stream, TimeSpan within, CancellationToken ct)
    {
        try
        {
            var prefix = new byte[4];
            await stream.ReadExactlyAsync(prefix, ct).AsTask().WaitAsync(within, ct);
            var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
            await stream.ReadExactlyAsync(frame, ct).AsTask().WaitAsync(within, ct);
            return frame;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            return null;
        }
    }
}
