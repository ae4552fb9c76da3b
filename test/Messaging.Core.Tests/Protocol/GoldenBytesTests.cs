using System.Buffers;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

/// <summary>
/// Encodings worked out by hand from the schemas and the framing rules, so that a bug shared by the encoder and the
/// decoder cannot hide behind a round trip.
/// </summary>
public sealed class GoldenBytesTests
{
    private static string Hex(Action<ContiguousBufferWriter> write)
    {
        using var output = new ContiguousBufferWriter();
        write(output);
        return Convert.ToHexString(output.WrittenSpan);
    }

    [Fact]
    public void ApiVersions_v3_request_frame()
    {
        var request = new ApiVersionsRequest { ClientSoftwareName = "kafka", ClientSoftwareVersion = "1.0" };
        string hex = Hex(o => KafkaFrames.WriteRequest(o, request, 3, correlationId: 1, clientId: "test"));
        string expected =
            "0000001A" + // size: 15 header bytes + 11 body bytes
            "0012" + "0003" + "00000001" + // api key 18, version 3, correlation id 1
            "0004" + "74657374" + // client id "test": classic int16 length even in header v2
            "00" + // header v2 tagged fields: none
            "06" + "6B61666B61" + // compact string "kafka": length 5 + 1
            "04" + "312E30" + // compact string "1.0"
            "00"; // body tagged fields: none
        Assert.Equal(expected, hex);
    }

    [Fact]
    public void ApiVersions_v0_request_frame_uses_header_v1_and_an_empty_body()
    {
        string hex = Hex(o => KafkaFrames.WriteRequest(o, new ApiVersionsRequest(), 0, correlationId: 7, clientId: null));
        Assert.Equal("0000000A" + "0012" + "0000" + "00000007" + "FFFF", hex);
    }

    [Fact]
    public void ApiVersions_v3_response_uses_header_v0_even_though_the_body_is_flexible()
    {
        byte[] payload = Convert.FromHexString(
            "00000001" + // header v0: correlation id only, no tagged fields
            "0000" + // error code
            "02" + "0000" + "0009" + "000B" + "00" + // one ApiKeys entry: Produce 9-11, no tags
            "00000000" + // throttle time
            "00"); // no tagged fields
        ApiVersionsResponse response = KafkaFrames.ReadResponse<ApiVersionsResponse>(payload, 3, null, out int correlationId);
        Assert.Equal(1, correlationId);
        Assert.Equal(ErrorCode.None, response.ErrorCode);
        ApiVersionsResponse.ApiVersion entry = Assert.Single(response.ApiKeys);
        Assert.Equal(ApiKey.Produce, entry.ApiKey);
        Assert.Equal(9, entry.MinVersion);
        Assert.Equal(11, entry.MaxVersion);
        Assert.Equal(-1, response.FinalizedFeaturesEpoch); // schema default when the tag is absent

        string written = Hex(o => KafkaFrames.WriteResponse(o, response, 3, 1));
        Assert.Equal("00000013" + Convert.ToHexString(payload), written);
    }

    [Fact]
    public void Known_tagged_fields_are_written_in_tag_order_only_when_not_default()
    {
        var response = new ApiVersionsResponse { FinalizedFeaturesEpoch = 5, ZkMigrationReady = true };
        var output = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        response.Write(ref writer, 3);
        writer.Flush();
        Assert.Equal(
            "0000" + "01" + "00000000" + // error code, empty ApiKeys, throttle time
            "02" + // two tagged fields
            "01" + "08" + "0000000000000005" + // tag 1 FinalizedFeaturesEpoch: 8 bytes
            "03" + "01" + "01", // tag 3 ZkMigrationReady: 1 byte, true
            Convert.ToHexString(output.WrittenSpan));

        var reader = new KafkaReader(output.WrittenMemory);
        ApiVersionsResponse decoded = ApiVersionsResponse.Read(ref reader, 3);
        Assert.Equal(5, decoded.FinalizedFeaturesEpoch);
        Assert.True(decoded.ZkMigrationReady);
    }

    [Fact]
    public void Produce_v9_request_body()
    {
        var request = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 30000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = "t",
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = new byte[] { 1, 2, 3 } }],
                },
            ],
        };
        var output = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        request.Write(ref writer, 9);
        writer.Flush();
        Assert.Equal(
            "00" + // TransactionalId: null compact string
            "FFFF" + "00007530" + // acks -1, timeout 30000
            "02" + // one topic
            "0274" + // name "t"
            "02" + // one partition
            "00000000" + // index 0
            "04" + "010203" + // records: compact nullable bytes, 3 bytes
            "00" + "00" + "00", // tagged fields of partition, topic, request
            Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void SaslHandshake_v1_is_not_flexible()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        new SaslHandshakeRequest { Mechanism = "PLAIN" }.Write(ref writer, 1);
        writer.Flush();
        Assert.Equal("0005" + "504C41494E", Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void Request_header_v2_round_trips_and_keeps_the_classic_client_id()
    {
        var header = new RequestHeader(ApiKey.Metadata, 12, 42, "c");
        var output = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        header.Write(ref writer, 2);
        writer.Flush();
        Assert.Equal("0003" + "000C" + "0000002A" + "000163" + "00", Convert.ToHexString(output.WrittenSpan));
        var reader = new KafkaReader(output.WrittenMemory);
        Assert.Equal(header, RequestHeader.Read(ref reader, 2));
    }

    [Fact]
    public void Response_header_v1_skips_unknown_tagged_fields()
    {
        var reader = new KafkaReader(Convert.FromHexString("0000002A" + "01" + "07" + "02" + "ABCD" + "FF"));
        Assert.Equal(42, ResponseHeader.Read(ref reader, 1).CorrelationId);
        Assert.Equal(0xFF, (byte)reader.ReadInt8());
    }

    [Fact]
    public void Header_versions_follow_flexibility_with_the_ApiVersions_exception()
    {
        Assert.Equal(2, RequestHeader.VersionFor(ProduceRequest.IsFlexible(9)));
        Assert.Equal(1, RequestHeader.VersionFor(SaslHandshakeRequest.IsFlexible(1)));
        Assert.Equal(1, ResponseHeader.VersionFor(ApiKey.Produce, ProduceResponse.IsFlexible(9)));
        Assert.Equal(0, ResponseHeader.VersionFor(ApiKey.ApiVersions, ApiVersionsResponse.IsFlexible(4)));
        Assert.Equal(0, ResponseHeader.VersionFor(ApiKey.SaslHandshake, false));
    }

    [Fact]
    public void Request_frame_round_trips_through_the_broker_side_decoder()
    {
        using var output = new ContiguousBufferWriter();
        var request = new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "orders" }] };
        int written = KafkaFrames.WriteRequest(output, request, 12, correlationId: 99, clientId: "me");
        Assert.Equal(output.WrittenCount, written);
        Assert.True(FrameReader.TryGetFrame(output.WrittenSpan, ProtocolLimits.Default, out int length));
        Assert.Equal(written - 4, length);
        MetadataRequest decoded = KafkaFrames.ReadRequest<MetadataRequest>(output.WrittenMemory[4..], null, out RequestHeader header);
        Assert.Equal(new RequestHeader(ApiKey.Metadata, 12, 99, "me"), header);
        Assert.Equal("orders", Assert.Single(decoded.Topics!).Name);
    }
}
