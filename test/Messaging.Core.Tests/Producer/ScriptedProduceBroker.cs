using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A one-broker fake on loopback for producer tests: answers ApiVersions, Metadata (topic <see cref="Topic"/> with
/// its partitions led by this broker), InitProducerId and Produce. Each partition's answer to a Produce comes from
/// <see cref="OnProduce"/>; <see cref="Drop"/> closes the connection instead of answering. Records every request.
/// </summary>
internal sealed class ScriptedProduceBroker : IAsyncDisposable
{
    public const string Topic = "scripted";

    /// <summary>Returned by <see cref="OnProduce"/>: close the connection without answering the request.</summary>
    public const ErrorCode Drop = (ErrorCode)short.MinValue;

    private const int MaxRequestBytes = 1 << 20;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _partitions;
    private readonly ConcurrentBag<Socket> _sockets = [];
    private Task _accept = Task.CompletedTask;
    private long _nextOffset;

    public ScriptedProduceBroker(int partitions = 1)
    {
        _partitions = partitions;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string BootstrapServers => "127.0.0.1:" + Port;

    /// <summary>Decides each partition's answer to a Produce (default: accept).</summary>
    public Func<ProducedBatch, ErrorCode> OnProduce { get; set; } = static _ => ErrorCode.None;

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<ApiKey> Requests { get; } = new();

    /// <summary>Every batch of every Produce, in arrival order.</summary>
    public ConcurrentQueue<ProducedBatch> Batches { get; } = new();

    public int Count(ApiKey apiKey) => Requests.Count(k => k == apiKey);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await _accept.WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                _sockets.Add(socket);
                connections.Add(ServeAsync(socket));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        using var output = new ContiguousBufferWriter();
        var prefix = new byte[4];
        try
        {
            while (true)
            {
                await ReadExactlyAsync(socket, prefix);
                var size = BinaryPrimitives.ReadInt32BigEndian(prefix);
                if (size is <= 0 or > MaxRequestBytes)
                {
                    return;
                }

                var frame = new byte[size];
                await ReadExactlyAsync(socket, frame);
                output.Clear();
                if (!Answer(frame, output))
                {
                    return; // closes the connection unanswered
                }

                await socket.SendAsync(output.WrittenMemory, SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
    }

    private bool Answer(byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        Requests.Enqueue(apiKey);
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                _ = KafkaFrames.ReadRequest<ApiVersionsRequest>(frame, null, out var header);
                var response = new ApiVersionsResponse
                {
                    ApiKeys =
                    [
                        new() { ApiKey = ApiKey.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                        new() { ApiKey = ApiKey.Metadata, MinVersion = 9, MaxVersion = 12 },
                        new() { ApiKey = ApiKey.Produce, MinVersion = 9, MaxVersion = 11 },
                        new() { ApiKey = ApiKey.InitProducerId, MinVersion = 2, MaxVersion = 5 },
                    ],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return true;
            }

            case ApiKey.Metadata:
            {
                _ = KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out var header);
                var partitions = new MetadataResponse.MetadataResponsePartition[_partitions];
                for (var p = 0; p < partitions.Length; p++)
                {
                    partitions[p] = new() { PartitionIndex = p, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] };
                }

                var response = new MetadataResponse
                {
                    Brokers = [new() { NodeId = 1, Host = "127.0.0.1", Port = Port }],
                    ClusterId = "scripted",
                    ControllerId = 1,
                    Topics = [new() { Name = Topic, TopicId = Guid.NewGuid(), Partitions = partitions }],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return true;
            }

            case ApiKey.InitProducerId:
            {
                _ = KafkaFrames.ReadRequest<InitProducerIdRequest>(frame, null, out var header);
                KafkaFrames.WriteResponse(output, new InitProducerIdResponse { ProducerId = 4000, ProducerEpoch = 0 }, version, header.CorrelationId);
                return true;
            }

            case ApiKey.Produce:
            {
                var request = KafkaFrames.ReadRequest<ProduceRequest>(frame, null, out var header);
                var topics = new List<ProduceResponse.TopicProduceResponse>();
                foreach (var topic in request.TopicData)
                {
                    var partitions = new List<ProduceResponse.PartitionProduceResponse>();
                    foreach (var partition in topic.PartitionData)
                    {
                        var batch = ProducedBatch.Read(partition.Index, partition.Records!.Value.Span);
                        Batches.Enqueue(batch);
                        var code = OnProduce(batch);
                        if (code == Drop)
                        {
                            return false;
                        }

                        var offset = code == ErrorCode.None ? Interlocked.Add(ref _nextOffset, batch.Count) - batch.Count : -1;
                        partitions.Add(new() { Index = partition.Index, ErrorCode = code, BaseOffset = offset });
                    }

                    topics.Add(new() { Name = topic.Name, PartitionResponses = [.. partitions] });
                }

                KafkaFrames.WriteResponse(output, new ProduceResponse { Responses = [.. topics] }, version, header.CorrelationId);
                return true;
            }

            default:
                throw new InvalidOperationException("The scripted broker does not answer " + apiKey);
        }
    }

    private async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            buffer = read > 0 ? buffer[read..] : throw new IOException("client closed");
        }
    }

    /// <summary>One partition's batch of a Produce: the header fields the producer stamped.</summary>
    internal readonly record struct ProducedBatch(int Partition, long ProducerId, short Epoch, int BaseSequence, int Count)
    {
        public static ProducedBatch Read(int partition, ReadOnlySpan<byte> records) => new(
            partition,
            BinaryPrimitives.ReadInt64BigEndian(records[43..]),
            BinaryPrimitives.ReadInt16BigEndian(records[51..]),
            BinaryPrimitives.ReadInt32BigEndian(records[53..]),
            BinaryPrimitives.ReadInt32BigEndian(records[57..]));
    }
}
