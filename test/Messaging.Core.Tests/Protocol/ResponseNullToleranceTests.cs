using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

/// <summary>
/// Responses read a null (-1) in a non-nullable string, bytes or array field as empty, as librdkafka does: the mock
/// cluster answers every SyncGroup and JoinGroup error that way, and a strict read would hide the error code behind a
/// decoding failure. Requests, and other negative lengths, stay strict.
/// </summary>
public sealed class ResponseNullToleranceTests
{
    private delegate void ReadAction(ref KafkaReader reader);

    [Fact]
    public void A_null_in_non_nullable_fields_reads_as_empty_and_the_next_field_follows()
    {
        // string -1, compact string null, bytes -1, compact bytes null, array -1, compact array null, then int32 7.
        var reader = new KafkaReader(Convert.FromHexString("FFFF" + "00" + "FFFFFFFF" + "00" + "FFFFFFFF" + "00" + "00000007").AsMemory()) { NullAsEmpty = true };
        Assert.Equal(string.Empty, reader.ReadString("A"));
        Assert.Equal(string.Empty, reader.ReadCompactString("B"));
        Assert.True(reader.ReadBytes("C").IsEmpty);
        Assert.True(reader.ReadCompactBytes("D").IsEmpty);
        Assert.Equal(0, reader.ReadArrayLength("E"));
        Assert.Equal(0, reader.ReadCompactArrayLength("F"));
        Assert.Equal(7, reader.ReadInt32("G"));
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Nullable_fields_still_read_null()
    {
        var reader = new KafkaReader(Convert.FromHexString("FFFF" + "FFFFFFFF").AsMemory()) { NullAsEmpty = true };
        Assert.Null(reader.ReadNullableString("A"));
        Assert.Null(reader.ReadNullableBytes("B"));
    }

    [Theory]
    [InlineData("FFFE")]
    [InlineData("8000")]
    public void Lengths_below_minus_one_are_still_rejected(string hex) =>
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(Convert.FromHexString(hex).AsMemory()) { NullAsEmpty = true };
            _ = reader.ReadString("Name");
        });

    [Fact]
    public void Bytes_and_arrays_below_minus_one_are_still_rejected()
    {
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(Convert.FromHexString("FFFFFFFE").AsMemory()) { NullAsEmpty = true };
            _ = reader.ReadBytes("Data");
        });
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(Convert.FromHexString("FFFFFFFE").AsMemory()) { NullAsEmpty = true };
            _ = reader.ReadArrayLength("Items");
        });
    }

    [Fact]
    public void Requests_are_read_strictly()
    {
        // A reader as a request decoder makes it (NullAsEmpty unset) still rejects a null non-nullable string.
        Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(Convert.FromHexString("FFFF").AsMemory());
            _ = reader.ReadString("Name");
        });
    }

    [Fact]
    public void The_mock_clusters_SyncGroup_error_answer_decodes_with_its_error_code()
    {
        // SyncGroup v3 as librdkafka's mock cluster writes an aborted sync: correlation id 9, throttle 0,
        // REBALANCE_IN_PROGRESS (27), and a null assignment where the schema has non-nullable bytes.
        var frame = Convert.FromHexString("00000009" + "00000000" + "001B" + "FFFFFFFF");
        var response = KafkaFrames.ReadResponse<SyncGroupResponse>(frame, 3, null, out var correlationId);
        Assert.Equal(9, correlationId);
        Assert.Equal(ErrorCode.RebalanceInProgress, response.ErrorCode);
        Assert.True(response.Assignment.IsEmpty);
    }

    [Fact]
    public void The_mock_clusters_JoinGroup_error_answer_decodes_with_its_error_code()
    {
        // JoinGroup v6 (flexible) as the mock writes an error: correlation id 5, no header tags, throttle 0,
        // UNKNOWN_MEMBER_ID (25), generation -1, null protocol name and leader (non-nullable in v6), null member id,
        // no members, no tags.
        var frame = Convert.FromHexString("00000005" + "00" + "00000000" + "0019" + "FFFFFFFF" + "00" + "00" + "00" + "01" + "00");
        var response = KafkaFrames.ReadResponse<JoinGroupResponse>(frame, 6, null, out var correlationId);
        Assert.Equal(5, correlationId);
        Assert.Equal(ErrorCode.UnknownMemberId, response.ErrorCode);
        Assert.Equal(-1, response.GenerationId);
        Assert.Equal(string.Empty, response.Leader);
        Assert.Equal(string.Empty, response.MemberId);
        Assert.Empty(response.Members);
    }
}
