using System.Buffers.Binary;
using System.Net.Sockets;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>One plain connection to the proxy's first listener that sends Fetch v12 (topic names) requests one at a time.</summary>
internal sealed class RawFetchConnection(TcpClient client) : IDisposable
{
    private const short Version = 12;
    private int _correlationId;

    public static async Task<RawFetchConnection> OpenAsync(KafkaProxy proxy, CancellationToken ct) => new(await RawFrames.ConnectAsync(proxy, ct));

    /// <summary>A Fetch v12 of <paramref name="partitions"/> of <paramref name="topic"/>, each from <paramref name="offset"/>.</summary>
    public static FetchRequest Fetch(string topic, int[] partitions, int maxWaitMs, int minBytes, long offset = 0)
    {
        var fetched = new FetchRequest.FetchPartition[partitions.Length];
        for (var i = 0; i < partitions.Length; i++)
        {
            fetched[i] = new FetchRequest.FetchPartition { Partition = partitions[i], FetchOffset = offset, PartitionMaxBytes = 1 << 20 };
        }

        return new FetchRequest
        {
            MaxWaitMs = maxWaitMs,
            MinBytes = minBytes,
            Topics = [new FetchRequest.FetchTopic { Topic = topic, Partitions = fetched }],
        };
    }

    /// <summary>Fetches partition 0 from <paramref name="offset"/>.</summary>
    public Task<FetchResponse> FetchAsync(string topic, long offset, int maxWaitMs, int minBytes, CancellationToken ct) =>
        SendAsync(Fetch(topic, [0], maxWaitMs, minBytes, offset), ct);

    /// <summary>Fetches <paramref name="partitions"/> from offset 0.</summary>
    public Task<FetchResponse> FetchAsync(string topic, int[] partitions, int maxWaitMs, int minBytes, CancellationToken ct) =>
        SendAsync(Fetch(topic, partitions, maxWaitMs, minBytes), ct);

    private async Task<FetchResponse> SendAsync(FetchRequest request, CancellationToken ct)
    {
        var stream = client.GetStream();
        await RawFrames.SendAsync(stream, request, Version, ++_correlationId, ct);
        var prefix = new byte[4];
        await stream.ReadExactlyAsync(prefix, ct);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        await stream.ReadExactlyAsync(frame, ct);
        return KafkaFrames.ReadResponse<FetchResponse>(frame, Version, null, out _);
    }

    public void Dispose() => client.Dispose();
}
