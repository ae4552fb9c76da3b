using System.Buffers;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class MessageSemanticsTests
{
    private static Exception? WriteFails<T>(T message, short version)
        where T : IKafkaMessage<T>
    {
        try
        {
            var writer = new KafkaWriter(new ArrayBufferWriter<byte>());
            message.Write(ref writer, version);
            writer.Flush();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static byte[] Encode<T>(T message, short version)
        where T : IKafkaMessage<T>
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        message.Write(ref writer, version);
        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void Non_ignorable_field_missing_from_the_version_must_be_default()
    {
        // FetchRequest.ReplicaId exists in versions 0-14 only and is not ignorable.
        Exception? e = WriteFails(new FetchRequest { ReplicaId = 5 }, 15);
        InvalidOperationException ioe = Assert.IsType<InvalidOperationException>(e);
        Assert.Contains("FetchRequest.ReplicaId is not part of version 15", ioe.Message, StringComparison.Ordinal);
        Assert.Null(WriteFails(new FetchRequest { ReplicaId = -1 }, 15));
        Assert.Null(WriteFails(new FetchRequest { ReplicaId = 5 }, 14));
    }

    [Fact]
    public void Ignorable_field_missing_from_the_version_is_dropped_silently()
    {
        // FetchResponse.FetchableTopicResponse.Topic exists in versions 0-12 and is ignorable; TopicId is 13+.
        var response = new FetchResponse { Responses = [new FetchResponse.FetchableTopicResponse { Topic = "orders", TopicId = Guid.NewGuid() }] };
        byte[] v13 = Encode(response, 13);
        var reader = new KafkaReader(v13.AsMemory());
        FetchResponse decoded = FetchResponse.Read(ref reader, 13);
        Assert.Equal("", decoded.Responses[0].Topic);
        Assert.Equal(response.Responses[0].TopicId, decoded.Responses[0].TopicId);
    }

    [Fact]
    public void Null_in_a_non_nullable_field_is_a_clear_error()
    {
        var request = new ProduceRequest { TopicData = [new ProduceRequest.TopicProduceData { Name = null! }] };
        Exception? e = WriteFails(request, 9);
        Assert.IsAssignableFrom<ArgumentException>(e);

        var metadata = new MetadataResponse { Topics = [null!] };
        InvalidOperationException ioe = Assert.IsType<InvalidOperationException>(WriteFails(metadata, 12));
        Assert.Contains("MetadataResponse.Topics is null", ioe.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_versions_are_refused_both_ways()
    {
        Assert.IsType<ArgumentOutOfRangeException>(WriteFails(new ProduceRequest(), 8));
        Assert.IsType<ArgumentOutOfRangeException>(WriteFails(new ProduceRequest(), 12));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var reader = new KafkaReader(new byte[16]);
            FetchResponse.Read(ref reader, 11);
        });
    }

    [Fact]
    public void Unknown_tagged_fields_inside_a_message_are_skipped()
    {
        // A HeartbeatResponse v4 (throttle, error code, tags) with two unknown tags appended in its tag section.
        byte[] bytes = Convert.FromHexString("00000064" + "0000" + "02" + "0A" + "03" + "010203" + "0B" + "00");
        var reader = new KafkaReader(bytes.AsMemory());
        HeartbeatResponse response = HeartbeatResponse.Read(ref reader, 4);
        reader.EnsureEnd();
        Assert.Equal(100, response.ThrottleTimeMs);
        Assert.Equal(ErrorCode.None, response.ErrorCode);
    }

    [Fact]
    public void Fetch_response_records_are_slices_of_the_receive_buffer()
    {
        var response = new FetchResponse
        {
            Responses =
            [
                new FetchResponse.FetchableTopicResponse
                {
                    TopicId = Guid.NewGuid(),
                    Partitions = [new FetchResponse.PartitionData { PartitionIndex = 3, Records = new byte[] { 1, 2, 3, 4, 5 } }],
                },
            ],
        };
        byte[] frame = Encode(response, 17);
        var reader = new KafkaReader(frame.AsMemory());
        FetchResponse decoded = FetchResponse.Read(ref reader, 17);
        ReadOnlyMemory<byte> records = decoded.Responses[0].Partitions[0].Records!.Value;
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(records, out ArraySegment<byte> segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, records.ToArray());
    }

    [Fact]
    public void Tagged_struct_is_written_only_when_it_differs_from_its_default()
    {
        var partition = new FetchResponse.PartitionData();
        var response = new FetchResponse { Responses = [new FetchResponse.FetchableTopicResponse { Partitions = [partition] }] };
        int withDefault = Encode(response, 12).Length;
        partition.CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = 2, LeaderEpoch = 7 };
        byte[] withLeader = Encode(response, 12);
        Assert.Equal(withDefault + 1 + 1 + 8 + 1, withLeader.Length); // tag, size, two int32, nested tag count
        var reader = new KafkaReader(withLeader.AsMemory());
        FetchResponse decoded = FetchResponse.Read(ref reader, 12);
        Assert.Equal(2, decoded.Responses[0].Partitions[0].CurrentLeader.LeaderId);
        Assert.Equal(7, decoded.Responses[0].Partitions[0].CurrentLeader.LeaderEpoch);
    }
}
