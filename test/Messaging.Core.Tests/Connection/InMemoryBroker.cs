using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Transport;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// Brokers in memory, as a transport factory: every connection it opens is answered by <see cref="Answer"/>, which
/// sees the broker's host and port, so one factory can play several brokers. ApiVersions is answered with every
/// version this client speaks; a Metadata request is answered by <see cref="OnMetadata"/>. A connect to a host in
/// <see cref="Down"/> is refused; <see cref="ConnectGate"/>, when set, holds every connect until it completes.
/// </summary>
internal sealed class InMemoryBroker : IKafkaTransportFactory
{
    private int _connects;

    /// <summary>Answers Metadata: the connection's host and the n-th Metadata request (1-based, over all connections); default: no brokers, no topics, controller 1.</summary>
    public Func<string, int, MetadataResponse>? OnMetadata { get; set; }

    /// <summary>Requests it holds unanswered (into <see cref="Transport.Held"/>) until <see cref="Transport.AnswerHeld"/>.</summary>
    public Func<ApiKey, bool>? Hold { get; set; }

    /// <summary>APIs its ApiVersions answers leave out, so the client never sends them (a consumer's Fetch, its group's requests).</summary>
    public HashSet<ApiKey> NotSupported { get; } = [];

    /// <summary>The throttle_time_ms its ApiVersions answers carry (KIP-219: the broker mutes the connection that long).</summary>
    public int ApiVersionsThrottleMs { get; set; }

    /// <summary>Hosts refused with a socket error, as a broker that is down.</summary>
    public ConcurrentDictionary<string, bool> Down { get; } = new(StringComparer.Ordinal);

    private int _refuseConnects;

    /// <summary>How many of the next connect attempts are refused with a socket error (a broker restarting).</summary>
    public int RefuseConnects
    {
        get => Volatile.Read(ref _refuseConnects);
        set => Volatile.Write(ref _refuseConnects, value);
    }

    /// <summary>When set, every connect waits for it.</summary>
    public TaskCompletionSource? ConnectGate { get; set; }

    /// <summary>Completes when the first connect attempt starts.</summary>
    public TaskCompletionSource ConnectStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Connect attempts so far.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>The topics each Metadata request named, in arrival order (null: every topic).</summary>
    public ConcurrentQueue<string[]?> MetadataTopics { get; } = new();

    /// <summary>Every transport opened, in order.</summary>
    public ConcurrentQueue<Transport> Opened { get; } = new();

    private int _metadataRequests;
    private int _authentications;

    /// <summary>The SASL session lifetime its SaslAuthenticate answers grant (KIP-368); zero for none.</summary>
    public TimeSpan SessionLifetime { get; set; }

    /// <summary>The raw session_lifetime_ms its SaslAuthenticate answers carry, when set (values no TimeSpan holds); else <see cref="SessionLifetime"/>.</summary>
    public long? SessionLifetimeMs { get; set; }

    /// <summary>SaslAuthenticate requests answered so far (PLAIN: one per authentication).</summary>
    public int Authentications => Volatile.Read(ref _authentications);

    public async ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connects);
        ConnectStarted.TrySetResult();
        if (ConnectGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (Down.ContainsKey(context.Host) || Interlocked.Decrement(ref _refuseConnects) >= 0)
        {
            throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused);
        }

        var transport = new Transport(this, context.Host);
        Opened.Enqueue(transport);
        return transport;
    }

    /// <summary>Writes the answer to one request frame (without its size prefix) into <paramref name="output"/>.</summary>
    private void Answer(string host, byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4));
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                var keys = new List<ApiVersionsResponse.ApiVersion>(SupportedApis.All.Count);
                foreach (var range in SupportedApis.All)
                {
                    if (!NotSupported.Contains(range.ApiKey))
                    {
                        keys.Add(new() { ApiKey = range.ApiKey, MinVersion = range.MinVersion, MaxVersion = range.MaxVersion });
                    }
                }

                KafkaFrames.WriteResponse(output, new ApiVersionsResponse { ApiKeys = [.. keys], ThrottleTimeMs = ApiVersionsThrottleMs }, version, correlationId);
                return;
            }

            case ApiKey.Metadata:
            {
                MetadataTopics.Enqueue(KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out _).Topics?.Select(t => t.Name ?? "").ToArray());
                var n = Interlocked.Increment(ref _metadataRequests);
                var response = OnMetadata?.Invoke(host, n) ?? new MetadataResponse { Brokers = [], ControllerId = 1, Topics = [] };
                KafkaFrames.WriteResponse(output, response, version, correlationId);
                return;
            }

            case ApiKey.ListOffsets:
            {
                // Every partition asked for is at offset 42.
                var request = KafkaFrames.ReadRequest<ListOffsetsRequest>(frame, null, out _);
                var topics = new ListOffsetsResponse.ListOffsetsTopicResponse[request.Topics.Length];
                for (var t = 0; t < topics.Length; t++)
                {
                    var partitions = new ListOffsetsResponse.ListOffsetsPartitionResponse[request.Topics[t].Partitions.Length];
                    for (var p = 0; p < partitions.Length; p++)
                    {
                        partitions[p] = new() { PartitionIndex = request.Topics[t].Partitions[p].PartitionIndex, Offset = 42, LeaderEpoch = 0 };
                    }

                    topics[t] = new() { Name = request.Topics[t].Name, Partitions = partitions };
                }

                KafkaFrames.WriteResponse(output, new ListOffsetsResponse { Topics = topics }, version, correlationId);
                return;
            }

            case ApiKey.SaslHandshake:
                KafkaFrames.WriteResponse(output, new SaslHandshakeResponse { Mechanisms = ["PLAIN"] }, version, correlationId);
                return;

            case ApiKey.SaslAuthenticate:
                Interlocked.Increment(ref _authentications);
                KafkaFrames.WriteResponse(output, new SaslAuthenticateResponse { SessionLifetimeMs = SessionLifetimeMs ?? (long)SessionLifetime.TotalMilliseconds }, version, correlationId);
                return;

            default:
                throw new InvalidOperationException("The in-memory broker does not answer " + apiKey);
        }
    }

    /// <summary>One connection: requests are answered as they are sent; receives read the answers.</summary>
    internal sealed class Transport(InMemoryBroker broker, string host) : IKafkaTransport
    {
        private readonly Channel<byte[]> _responses = Channel.CreateUnbounded<byte[]>();
        private readonly List<byte> _sent = [];
        private byte[]? _chunk;
        private int _chunkOffset;
        private int _closed;

        public string Host => host;

        public bool IsClosed => Volatile.Read(ref _closed) != 0;

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            if (_chunk is null || _chunkOffset == _chunk.Length)
            {
                if (!await _responses.Reader.WaitToReadAsync(cancellationToken) || !_responses.Reader.TryRead(out _chunk))
                {
                    return 0;
                }

                _chunkOffset = 0;
            }

            var count = Math.Min(buffer.Length, _chunk.Length - _chunkOffset);
            _chunk.AsMemory(_chunkOffset, count).CopyTo(buffer);
            _chunkOffset += count;
            return count;
        }

        public ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            if (IsClosed)
            {
                return ValueTask.FromException(new IOException("closed"));
            }

            lock (_sent)
            {
                _sent.AddRange(bytes.Span);
                while (_sent.Count >= 4)
                {
                    var size = BinaryPrimitives.ReadInt32BigEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_sent));
                    if (_sent.Count < 4 + size)
                    {
                        break;
                    }

                    var frame = _sent.GetRange(4, size).ToArray();
                    _sent.RemoveRange(0, 4 + size);
                    if (broker.Hold?.Invoke((ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame)) == true)
                    {
                        Held.Enqueue(frame);
                        continue;
                    }

                    using var output = new ContiguousBufferWriter();
                    broker.Answer(host, frame, output);
                    _responses.Writer.TryWrite(output.WrittenMemory.ToArray());
                }
            }

            return ValueTask.CompletedTask;
        }

        /// <summary>Request frames held unanswered, oldest first.</summary>
        public ConcurrentQueue<byte[]> Held { get; } = new();

        /// <summary>Answers the oldest held request.</summary>
        public void AnswerHeld()
        {
            Assert.True(Held.TryDequeue(out var frame));
            using var output = new ContiguousBufferWriter();
            broker.Answer(host, frame, output);
            _responses.Writer.TryWrite(output.WrittenMemory.ToArray());
        }

        /// <summary>Sends raw bytes to the client, as they come.</summary>
        public void Inject(byte[] bytes) => _responses.Writer.TryWrite(bytes);

        public void Close()
        {
            Volatile.Write(ref _closed, 1);
            _responses.Writer.TryComplete();
        }

        public ValueTask DisposeAsync()
        {
            Close();
            return ValueTask.CompletedTask;
        }
    }
}
