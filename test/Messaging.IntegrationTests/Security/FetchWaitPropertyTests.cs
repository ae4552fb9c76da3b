using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The proxy's reading and rewriting of a Fetch's wait (<see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/>): it reads
/// the wait and minimum bytes any writer puts in versions 12 to 17, whatever the client id and replica, and its copy
/// without the wait differs from the request in that field only; truncated or random bytes are refused, never thrown on.
/// </summary>
public sealed class FetchWaitPropertyTests
{
    private static Gen<(short Version, int MaxWait, int MinBytes, string? ClientId, int ReplicaId)> Requests() =>
        from version in Gen.Choose(FetchRequest.MinVersion, FetchRequest.MaxVersion)
        from maxWait in Gen.Choose(0, int.MaxValue)
        from minBytes in Gen.Choose(-1, 1 << 20)
        from clientId in Gen.OneOf(Gen.Constant<string?>(null), Gen.Choose(0, 40).Select(n => (string?)new string('c', n)))
        from replicaId in Gen.Choose(-1, 5)
        select ((short)version, maxWait, minBytes, clientId, replicaId);

    private static byte[] Frame(short version, int maxWait, int minBytes, string? clientId, int replicaId)
    {
        using var output = new ContiguousBufferWriter(256);
        var request = new FetchRequest
        {
            ReplicaId = version <= 14 ? replicaId : -1,
            MaxWaitMs = maxWait,
            MinBytes = minBytes,
            Topics = [new FetchRequest.FetchTopic { Topic = "t", TopicId = Guid.NewGuid(), Partitions = [new FetchRequest.FetchPartition { Partition = 2, FetchOffset = 7, PartitionMaxBytes = 1 << 20 }] }],
        };
        KafkaFrames.WriteRequest(output, request, version, correlationId: 11, clientId);
        return output.WrittenMemory.ToArray();
    }

    [Property(MaxTest = 300)]
    public Property The_wait_and_min_bytes_are_read_from_any_version_and_the_copy_differs_only_in_the_wait() =>
        Prop.ForAll(Requests().ToArbitrary(), r =>
        {
            var frame = Frame(r.Version, r.MaxWait, r.MinBytes, r.ClientId, r.ReplicaId);
            if (!FetchWait.TryRead(frame, r.Version, out var maxWait, out var minBytes, out var offset) || maxWait != r.MaxWait || minBytes != r.MinBytes)
            {
                return false;
            }

            var copy = FetchWait.WithoutWait(frame, offset);
            var decoded = KafkaFrames.ReadRequest<FetchRequest>(copy.AsMemory(4), null, out var header);
            var original = KafkaFrames.ReadRequest<FetchRequest>(frame.AsMemory(4), null, out _);
            var changedBytes = 0;
            for (var i = 0; i < frame.Length; i++)
            {
                changedBytes += frame[i] != copy[i] ? 1 : 0;
            }

            return decoded.MaxWaitMs == 0 && decoded.MinBytes == original.MinBytes && decoded.ReplicaId == original.ReplicaId
                && header.ClientId == r.ClientId && header.CorrelationId == 11 && copy.Length == frame.Length
                && changedBytes <= 4 && original.MaxWaitMs == r.MaxWait;
        });

    [Property(MaxTest = 300)]
    public Property A_truncated_request_is_refused_or_read_right_and_never_throws() =>
        Prop.ForAll(Requests().ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), (r, cut) =>
        {
            var frame = Frame(r.Version, r.MaxWait, r.MinBytes, r.ClientId, r.ReplicaId);
            var truncated = frame.AsSpan(0, Math.Min(frame.Length, 4 + cut % Math.Max(1, frame.Length - 3))).ToArray();
            var read = FetchWait.TryRead(truncated, r.Version, out var maxWait, out var minBytes, out _);
            return !read || (maxWait == r.MaxWait && minBytes == r.MinBytes);
        });

    [Property(MaxTest = 300)]
    public Property Random_bytes_never_throw() =>
        Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).ToArbitrary(), Gen.Choose(0, 20).ToArbitrary(), (bytes, version) =>
        {
            var frame = new byte[bytes.Length + 4];
            bytes.CopyTo(frame, 4);
            FetchWait.TryRead(frame, (short)version, out _, out _, out _);
            return FetchWait.IsAnswer(frame, (short)Math.Clamp(version, 12, 17), 1); // a response it cannot read is passed on
        });

    [Fact]
    public void Versions_before_12_pass_through()
    {
        var frame = Frame(12, 500, 1, "c", -1);
        Assert.False(FetchWait.TryRead(frame, 11, out _, out _, out _));
        Assert.True(FetchWait.TryRead(frame, 12, out var maxWait, out _, out _));
        Assert.Equal(500, maxWait);
    }

    [Fact]
    public void A_response_is_an_answer_with_enough_records_or_an_error_and_not_with_too_few()
    {
        static byte[] Response(ErrorCode partitionError, int recordBytes)
        {
            using var output = new ContiguousBufferWriter(256);
            var partition = new FetchResponse.PartitionData { PartitionIndex = 0, ErrorCode = partitionError, Records = recordBytes > 0 ? new byte[recordBytes] : null };
            KafkaFrames.WriteResponse(output, new FetchResponse { Responses = [new FetchResponse.FetchableTopicResponse { Topic = "t", Partitions = [partition] }] }, 12, 5);
            return output.WrittenMemory.ToArray();
        }

        Assert.False(FetchWait.IsAnswer(Response(ErrorCode.None, 0), 12, minBytes: 0));
        Assert.True(FetchWait.IsAnswer(Response(ErrorCode.None, 70), 12, minBytes: 0));
        Assert.False(FetchWait.IsAnswer(Response(ErrorCode.None, 70), 12, minBytes: 100));
        Assert.True(FetchWait.IsAnswer(Response(ErrorCode.None, 100), 12, minBytes: 100));
        Assert.True(FetchWait.IsAnswer(Response(ErrorCode.OffsetOutOfRange, 0), 12, minBytes: 100));
    }

    [Fact]
    public void Too_few_bytes_are_an_answer_when_the_log_holds_more_than_the_broker_returned()
    {
        // One whole batch of offsets 4..6 (base offset 4, last offset delta 2): the log ends at 7 unless it holds more.
        var batch = new byte[70];
        BinaryPrimitives.WriteInt64BigEndian(batch, 4);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), batch.Length - 12);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(23), 2);

        byte[] Response(long highWatermark)
        {
            using var output = new ContiguousBufferWriter(256);
            var partition = new FetchResponse.PartitionData { PartitionIndex = 0, HighWatermark = highWatermark, Records = batch };
            KafkaFrames.WriteResponse(output, new FetchResponse { Responses = [new FetchResponse.FetchableTopicResponse { Topic = "t", Partitions = [partition] }] }, 12, 5);
            return output.WrittenMemory.ToArray();
        }

        Assert.Equal(7, FetchWait.EndOffset(batch));
        Assert.Equal(-1, FetchWait.EndOffset(batch.AsSpan(0, 40)));
        Assert.False(FetchWait.IsAnswer(Response(7), 12, minBytes: 1_000));
        Assert.True(FetchWait.IsAnswer(Response(9), 12, minBytes: 1_000));
    }
}
