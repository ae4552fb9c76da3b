using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The proxy's rewrite of the NodeEndpoints in Produce (v10+) and Fetch (v16+) responses, on frames any writer makes:
/// each endpoint of a broker the proxy fronts gets that broker's listener, and nothing else in the frame changes (records
/// included); a frame with no such endpoint passes unchanged; truncated frames pass unchanged; corrupted or random bytes
/// are never thrown on.
/// </summary>
public sealed class NodeEndpointsRewritePropertyTests : IAsyncDisposable
{
    private static readonly int[] UpstreamPorts = [19_091, 19_092];

    // Listens on two free ports and fronts two brokers that need not exist: nothing connects to it here.
    private readonly KafkaProxy _proxy = KafkaProxy.Start("127.0.0.1:" + UpstreamPorts[0] + ",127.0.0.1:" + UpstreamPorts[1]);

    public ValueTask DisposeAsync() => _proxy.DisposeAsync();

    private sealed record Endpoint(int NodeId, string Host, int Port, string? Rack);

    private sealed record Partition(int Index, ErrorCode Error, byte[]? Records, int LeaderId, bool Aborted);

    private sealed record Response(bool Produce, short Version, Partition[][] Topics, Endpoint[] Endpoints);

    private static Gen<Endpoint> Endpoints() =>
        from nodeId in Gen.Choose(0, 5)
        from host in Gen.Elements("127.0.0.1", "localhost", "broker.example")
        from port in Gen.OneOf(Gen.Elements(UpstreamPorts), Gen.Choose(1, 65_535))
        from rack in Gen.Elements<string?>(null, "", "rack-a")
        select new Endpoint(nodeId, host, port, rack);

    private static Gen<Partition> Partitions() =>
        from index in Gen.Choose(0, 50)
        from error in Gen.Elements(ErrorCode.None, ErrorCode.NotLeaderOrFollower, ErrorCode.FencedLeaderEpoch, ErrorCode.UnknownTopicOrPartition)
        from records in Gen.OneOf(Gen.Constant<byte[]?>(null), Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(b => (byte[]?)b))
        from leader in Gen.Choose(-1, 5)
        from aborted in Gen.Elements(false, true)
        select new Partition(index, error, records, leader, aborted);

    private static Gen<Response> Responses() =>
        from produce in Gen.Elements(false, true)
        from version in produce ? Gen.Choose(10, 11) : Gen.Choose(16, 17)
        from topics in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 4).SelectMany(p => Gen.ArrayOf(Partitions(), p)), n))
        from endpoints in Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(Endpoints(), n))
        select new Response(produce, (short)version, topics, endpoints);

    /// <summary>The frame a broker would send (with its size prefix).</summary>
    private static byte[] Frame(Response r)
    {
        using var output = new ContiguousBufferWriter(256);
        if (r.Produce)
        {
            var response = new ProduceResponse
            {
                ThrottleTimeMs = 3,
                Responses = [.. r.Topics.Select((partitions, t) => new ProduceResponse.TopicProduceResponse
                {
                    Name = "topic-" + t,
                    PartitionResponses = [.. partitions.Select(p => new ProduceResponse.PartitionProduceResponse
                    {
                        Index = p.Index,
                        ErrorCode = p.Error,
                        BaseOffset = p.Records?.Length ?? -1,
                        ErrorMessage = p.Aborted ? "refused" : null,
                        RecordErrors = p.Aborted ? [new ProduceResponse.BatchIndexAndErrorMessage { BatchIndex = 1, BatchIndexErrorMessage = "bad" }] : [],
                        CurrentLeader = p.Error == ErrorCode.None ? null! : new ProduceResponse.LeaderIdAndEpoch { LeaderId = p.LeaderId, LeaderEpoch = 4 },
                    })],
                })],
                NodeEndpoints = [.. r.Endpoints.Select(e => new ProduceResponse.NodeEndpoint { NodeId = e.NodeId, Host = e.Host, Port = e.Port, Rack = e.Rack })],
            };
            KafkaFrames.WriteResponse(output, response, r.Version, 42);
        }
        else
        {
            var response = new FetchResponse
            {
                SessionId = 9,
                Responses = [.. r.Topics.Select((partitions, t) => new FetchResponse.FetchableTopicResponse
                {
                    TopicId = new Guid(t + 1, 2, 3, [4, 5, 6, 7, 8, 9, 10, 11]),
                    Partitions = [.. partitions.Select(p => new FetchResponse.PartitionData
                    {
                        PartitionIndex = p.Index,
                        ErrorCode = p.Error,
                        HighWatermark = 100,
                        Records = p.Records,
                        AbortedTransactions = p.Aborted ? [new FetchResponse.AbortedTransaction { ProducerId = 5, FirstOffset = 6 }] : null,
                        CurrentLeader = p.Error == ErrorCode.None ? null! : new FetchResponse.LeaderIdAndEpoch { LeaderId = p.LeaderId, LeaderEpoch = 4 },
                    })],
                })],
                NodeEndpoints = [.. r.Endpoints.Select(e => new FetchResponse.NodeEndpoint { NodeId = e.NodeId, Host = e.Host, Port = e.Port, Rack = e.Rack })],
            };
            KafkaFrames.WriteResponse(output, response, r.Version, 42);
        }

        return output.WrittenMemory.ToArray();
    }

    private int? ListenerPortFor(Endpoint e)
    {
        var upstream = Array.IndexOf(UpstreamPorts, e.Port);
        return upstream >= 0 && e.Host is "127.0.0.1" or "localhost" ? _proxy.Brokers[upstream].Port : null;
    }

    [Property(MaxTest = 300)]
    public Property Endpoints_of_fronted_brokers_become_the_proxy_listeners_and_nothing_else_changes() =>
        Prop.ForAll(Responses().ToArbitrary(), r =>
        {
            var frame = Frame(r);
            var api = r.Produce ? ApiKey.Produce : ApiKey.Fetch;
            var rewritten = ResponseRewriter.Rewrite(_proxy, api, r.Version, frame);
            var expected = r.Endpoints.Select(e => ListenerPortFor(e) is { } port ? ("localhost", port) : (e.Host, e.Port)).ToArray();
            if (!r.Endpoints.Any(e => ListenerPortFor(e) is not null))
            {
                return rewritten is null; // nothing to rewrite: the frame passes as it is
            }

            if (rewritten is null || BinaryPrimitives.ReadInt32BigEndian(rewritten) != rewritten.Length - 4)
            {
                return false;
            }

            return r.Produce
                ? OnlyEndpointsChanged<ProduceResponse>(frame, rewritten, r, expected, static (m, i) => (m.NodeEndpoints[i].Host, m.NodeEndpoints[i].Port),
                    static (m, i, a) => (m.NodeEndpoints[i].Host, m.NodeEndpoints[i].Port) = a, static m => m.NodeEndpoints.Length)
                : OnlyEndpointsChanged<FetchResponse>(frame, rewritten, r, expected, static (m, i) => (m.NodeEndpoints[i].Host, m.NodeEndpoints[i].Port),
                    static (m, i, a) => (m.NodeEndpoints[i].Host, m.NodeEndpoints[i].Port) = a, static m => m.NodeEndpoints.Length);
        });

    /// <summary>
    /// True when <paramref name="rewritten"/> names the <paramref name="expected"/> addresses and, with the broker's put
    /// back, is the broker's <paramref name="frame"/> byte for byte.
    /// </summary>
    private static bool OnlyEndpointsChanged<T>(byte[] frame, byte[] rewritten, Response r, (string Host, int Port)[] expected,
        Func<T, int, (string Host, int Port)> get, Action<T, int, (string Host, int Port)> set, Func<T, int> count)
        where T : IKafkaMessage<T>
    {
        var decoded = KafkaFrames.ReadResponse<T>(rewritten.AsMemory(4), r.Version, null, out _);
        if (count(decoded) != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < expected.Length; i++)
        {
            if (get(decoded, i) != expected[i])
            {
                return false;
            }

            set(decoded, i, (r.Endpoints[i].Host, r.Endpoints[i].Port));
        }

        using var restored = new ContiguousBufferWriter(256);
        KafkaFrames.WriteResponse(restored, decoded, r.Version, 42);
        return restored.WrittenMemory.Span.SequenceEqual(frame);
    }

    [Property(MaxTest = 300)]
    public Property A_truncated_response_passes_unchanged_and_never_throws() =>
        Prop.ForAll(Responses().ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), (r, cut) =>
        {
            var frame = Frame(r);
            var truncated = frame.AsSpan(0, 4 + cut % (frame.Length - 4)).ToArray();
            BinaryPrimitives.WriteInt32BigEndian(truncated, truncated.Length - 4);
            return ResponseRewriter.Rewrite(_proxy, r.Produce ? ApiKey.Produce : ApiKey.Fetch, r.Version, truncated) is null;
        });

    [Property(MaxTest = 300)]
    public Property A_corrupted_response_never_throws() =>
        Prop.ForAll(Responses().ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(0, 255).ToArbitrary(), (r, at, value) =>
        {
            var frame = Frame(r);
            frame[4 + at % (frame.Length - 4)] = (byte)value;
            var rewritten = ResponseRewriter.Rewrite(_proxy, r.Produce ? ApiKey.Produce : ApiKey.Fetch, r.Version, frame);
            return rewritten is null || BinaryPrimitives.ReadInt32BigEndian(rewritten) == rewritten.Length - 4;
        });

    [Fact]
    public void ApiVersions_offers_no_produce_or_fetch_version_the_rewrite_does_not_know()
    {
        using var output = new ContiguousBufferWriter(256);
        var offered = new ApiVersionsResponse
        {
            ApiKeys =
            [
                new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.Produce, MinVersion = 3, MaxVersion = 13 },
                new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.Fetch, MinVersion = 4, MaxVersion = 18 },
            ],
        };
        KafkaFrames.WriteResponse(output, offered, 3, 1);

        var rewritten = ResponseRewriter.Rewrite(_proxy, ApiKey.ApiVersions, 3, output.WrittenMemory.ToArray());

        var keys = KafkaFrames.ReadResponse<ApiVersionsResponse>(rewritten.AsMemory(4), 3, null, out _).ApiKeys;
        Assert.Equal([(ApiKey.Produce, (short)3, (short)11), (ApiKey.Fetch, (short)4, (short)17)], keys.Select(k => (k.ApiKey, k.MinVersion, k.MaxVersion)));
    }

    [Property(MaxTest = 500)]
    public Property Random_bytes_never_throw() =>
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).ToArbitrary(), Gen.Choose(0, 20).ToArbitrary(), Gen.Elements(false, true).ToArbitrary(), (bytes, version, produce) =>
        {
            var frame = new byte[bytes.Length + 4];
            BinaryPrimitives.WriteInt32BigEndian(frame, bytes.Length);
            bytes.CopyTo(frame, 4);
            var rewritten = ResponseRewriter.Rewrite(_proxy, produce ? ApiKey.Produce : ApiKey.Fetch, (short)version, frame);
            return rewritten is null || BinaryPrimitives.ReadInt32BigEndian(rewritten) == rewritten.Length - 4;
        });
}
