using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Groups;
using Messaging.Groups.Assignors;
using static Messaging.Core.Tests.Groups.AssignorFixtures;

namespace Messaging.Core.Tests.Groups;

/// <summary>
/// The consumer protocol's subscription and assignment encodings: exact bytes as the Java client writes them
/// (ConsumerProtocolSubscription.json / ConsumerProtocolAssignment.json), Java's version rules (newer versions read as
/// the newest known, older ones default the missing fields), round trips of random data for every version, and bounded
/// decoding of random and truncated input.
/// </summary>
public sealed class ConsumerProtocolTests
{
    // byte[] converts implicitly to ReadOnlyMemory<byte>, a null array to empty memory: keep null as null.
    private static ReadOnlyMemory<byte>? Nullable(byte[]? bytes) => bytes is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(bytes);

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static ConsumerSubscription FullSubscription() => new(["t2", "t1"])
    {
        UserData = new byte[] { 0xAA },
        OwnedPartitions = [Tp("t2", 1), Tp("t1", 2), Tp("t1", 0)],
        GenerationId = 5,
        RackId = "r1",
    };

    // Topics sorted; owned partitions sorted by topic then partition and grouped by topic, as Java writes them.
    private const string TopicsAndUserData = "00000002 0002 7431 0002 7432 00000001 AA";
    private const string Owned = "00000002 0002 7431 00000002 00000000 00000002 0002 7432 00000001 00000001";

    [Theory]
    [InlineData(0, "0000 " + TopicsAndUserData)]
    [InlineData(1, "0001 " + TopicsAndUserData + " " + Owned)]
    [InlineData(2, "0002 " + TopicsAndUserData + " " + Owned + " 00000005")]
    [InlineData(3, "0003 " + TopicsAndUserData + " " + Owned + " 00000005 0002 7231")]
    [InlineData(7, "0003 " + TopicsAndUserData + " " + Owned + " 00000005 0002 7231")]
    public void Subscription_bytes_are_javas(short version, string expected) =>
        Assert.Equal(Hex(expected), ConsumerProtocol.SerializeSubscription(FullSubscription(), version));

    [Fact]
    public void Subscription_defaults_are_written_as_java_writes_them()
    {
        // No user data (-1), no owned partitions, unknown generation (-1), no rack (-1).
        var bytes = ConsumerProtocol.SerializeSubscription(Sub("a"));
        Assert.Equal(Hex("0003 00000001 0001 61 FFFFFFFF 00000000 FFFFFFFF FFFF"), bytes);
        var decoded = ConsumerProtocol.DeserializeSubscription(bytes);
        Assert.Equal(["a"], decoded.Topics);
        Assert.Null(decoded.UserData);
        Assert.Empty(decoded.OwnedPartitions);
        Assert.Null(decoded.GenerationId);
        Assert.Null(decoded.RackId);
    }

    [Fact]
    public void Assignment_bytes_group_partitions_by_topic_in_order_of_appearance()
    {
        var assignment = new ConsumerAssignment([Tp("t2", 1), Tp("t1", 0), Tp("t2", 0)]);
        Assert.Equal(
            Hex("0003 00000002 0002 7432 00000002 00000001 00000000 0002 7431 00000001 00000000 FFFFFFFF"),
            ConsumerProtocol.SerializeAssignment(assignment));
        Assert.Equal(
            Hex("0000 00000001 0001 61 00000001 00000004 00000003 010203"),
            ConsumerProtocol.SerializeAssignment(new ConsumerAssignment([Tp("a", 4)]) { UserData = new byte[] { 1, 2, 3 } }, 0));
    }

    [Fact]
    public void A_subscription_of_a_future_version_is_read_with_the_newest_layout_and_extra_fields_are_ignored()
    {
        // Java's generateFutureSubscriptionVersionData: version 100 with all v3 fields and a trailing string "bar".
        var bytes = Hex("0064 00000001 0005 746F706963 00000000 00000001 0005 746F706963 00000001 00000002 0000000A 0004 72616B31 0003 626172");
        var decoded = ConsumerProtocol.DeserializeSubscription(bytes);
        Assert.Equal(["topic"], decoded.Topics);
        Assert.Equal([Tp("topic", 2)], decoded.OwnedPartitions);
        Assert.Equal(10, decoded.GenerationId);
        Assert.Equal("rak1", decoded.RackId);
        Assert.Equal(0, decoded.UserData!.Value.Length);
    }

    [Fact]
    public void An_assignment_of_a_future_version_is_read_and_extra_fields_are_ignored()
    {
        var bytes = Hex("0064 00000001 0002 7431 00000001 00000000 00000000 0003 626172");
        var decoded = ConsumerProtocol.DeserializeAssignment(bytes);
        Assert.Equal([Tp("t1", 0)], decoded.Partitions);
    }

    [Fact]
    public void A_new_subscription_read_as_version_0_keeps_only_topics_and_user_data()
    {
        // Java's deserializeNewSubscriptionWithOldVersion: the newer fields are not read at all.
        var v3 = ConsumerProtocol.SerializeSubscription(FullSubscription());
        v3[1] = 0;
        var decoded = ConsumerProtocol.DeserializeSubscription(v3);
        Assert.Equal(["t1", "t2"], decoded.Topics);
        Assert.Empty(decoded.OwnedPartitions);
        Assert.Null(decoded.GenerationId);
        Assert.Null(decoded.RackId);
    }

    [Fact]
    public void An_empty_rack_reads_as_none()
    {
        var bytes = ConsumerProtocol.SerializeSubscription(new ConsumerSubscription(["a"]) { RackId = "" });
        Assert.Null(ConsumerProtocol.DeserializeSubscription(bytes).RackId);
    }

    [Theory]
    [InlineData("FFFF 00000000 FFFFFFFF")]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("0003 7FFFFFFF")]
    [InlineData("0003 FFFFFFFF")]
    [InlineData("0003 00000001 7FFF 61")]
    [InlineData("0003 00000000 7FFFFFF0")]
    [InlineData("0003 00000000 FFFFFFFE")]
    [InlineData("0003 00000000 FFFFFFFF 00000001 0001 61 40000000")]
    public void Malformed_subscriptions_throw_the_protocol_exception(string hex)
    {
        var ex = Assert.Throws<KafkaProtocolException>(() => ConsumerProtocol.DeserializeSubscription(Hex(hex)));
        Assert.Equal("ConsumerProtocolSubscription", ex.MessageName);
    }

    [Theory]
    [InlineData("8000 00000000 FFFFFFFF")]
    [InlineData("0000 00000001 0001 61 7FFFFFFF")]
    [InlineData("0000 00000000")]
    public void Malformed_assignments_throw_the_protocol_exception(string hex)
    {
        var ex = Assert.Throws<KafkaProtocolException>(() => ConsumerProtocol.DeserializeAssignment(Hex(hex)));
        Assert.Equal("ConsumerProtocolAssignment", ex.MessageName);
    }

    [Fact]
    public void Every_strict_prefix_of_a_valid_encoding_is_rejected()
    {
        for (short version = 0; version <= 3; version++)
        {
            var subscription = ConsumerProtocol.SerializeSubscription(FullSubscription(), version);
            for (int length = 0; length < subscription.Length; length++)
            {
                Assert.Throws<KafkaProtocolException>(() => ConsumerProtocol.DeserializeSubscription(subscription.AsSpan(0, length)));
            }

            var assignment = ConsumerProtocol.SerializeAssignment(new ConsumerAssignment([Tp("t", 1), Tp("u", 0)]) { UserData = new byte[] { 9 } }, version);
            for (int length = 0; length < assignment.Length; length++)
            {
                Assert.Throws<KafkaProtocolException>(() => ConsumerProtocol.DeserializeAssignment(assignment.AsSpan(0, length)));
            }
        }
    }

    [Fact]
    public void Decoded_user_data_does_not_alias_the_input()
    {
        var bytes = ConsumerProtocol.SerializeSubscription(FullSubscription());
        var decoded = ConsumerProtocol.DeserializeSubscription(bytes);
        Array.Clear(bytes);
        Assert.Equal([0xAA], decoded.UserData!.Value.ToArray());
    }

    // ---- properties -------------------------------------------------------------------------------------------

    private static readonly Gen<string> Names = Gen.Elements("a", "b", "topic", "t-1", "ü", "日本", "");
    private static readonly Gen<TopicPartition> Partitions = Names.SelectMany(t => Gen.Choose(0, 50).Select(p => new TopicPartition(t, p)));
    private static readonly Gen<byte[]?> UserData = Gen.OneOf(Gen.Constant<byte[]?>(null), ArbMap.Default.GeneratorFor<byte[]>().Select(b => (byte[]?)b));

    private static readonly Gen<ConsumerSubscription> Subscriptions =
        from topics in Gen.ListOf(Names)
        from userData in UserData
        from owned in Gen.ListOf(Partitions)
        from generation in Gen.Choose(-3, 1000)
        from rack in Gen.OneOf(Gen.Constant<string?>(null), Names.Select(n => (string?)n))
        select new ConsumerSubscription([.. topics])
        {
            UserData = Nullable(userData),
            OwnedPartitions = [.. owned],
            GenerationId = generation,
            RackId = rack,
        };

    [Property(MaxTest = 300)]
    public Property Subscriptions_round_trip_in_every_version() =>
        Prop.ForAll(Subscriptions.ToArbitrary(), Gen.Choose(0, 3).ToArbitrary(), (subscription, v) =>
        {
            short version = (short)v;
            var decoded = ConsumerProtocol.DeserializeSubscription(ConsumerProtocol.SerializeSubscription(subscription, version));
            Assert.Equal(subscription.Topics.Order(StringComparer.Ordinal), decoded.Topics);
            Assert.Equal(subscription.UserData?.ToArray(), decoded.UserData?.ToArray());
            Assert.Equal(
                version >= 1 ? subscription.OwnedPartitions.Order(TopicPartitionOrder.ByTopicThenPartition) : [],
                decoded.OwnedPartitions);
            Assert.Equal(version >= 2 ? subscription.GenerationId : null, decoded.GenerationId);
            Assert.Equal(version >= 3 && subscription.RackId is { Length: > 0 } rack ? rack : null, decoded.RackId);
        });

    [Property(MaxTest = 300)]
    public Property Assignments_round_trip_in_every_version() =>
        Prop.ForAll(Gen.ListOf(Partitions).ToArbitrary(), UserData.ToArbitrary(), Gen.Choose(0, 3).ToArbitrary(), (partitions, userData, v) =>
        {
            var assignment = new ConsumerAssignment([.. partitions]) { UserData = Nullable(userData) };
            var decoded = ConsumerProtocol.DeserializeAssignment(ConsumerProtocol.SerializeAssignment(assignment, (short)v));
            Assert.Equal(partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).SelectMany(g => g), decoded.Partitions);
            Assert.Equal(userData, decoded.UserData?.ToArray());
        });

    [Property(MaxTest = 1000)]
    public Property Random_bytes_decode_or_throw_only_the_protocol_exception() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            DecodesOrThrowsTyped(bytes);

            // Random bytes rarely pass the version: also try them behind each valid version.
            for (short version = 0; version <= 4; version++)
            {
                var prefixed = new byte[bytes.Length + 2];
                prefixed[1] = (byte)version;
                bytes.CopyTo(prefixed, 2);
                DecodesOrThrowsTyped(prefixed);
            }
        });

    [Property(MaxTest = 300)]
    public Property Truncated_or_corrupted_encodings_throw_only_the_protocol_exception() =>
        Prop.ForAll(Subscriptions.ToArbitrary(), Gen.Choose(0, 3).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (subscription, v, seed) =>
        {
            var bytes = ConsumerProtocol.SerializeSubscription(subscription, (short)v);
            var random = new Random(seed);
            Assert.Throws<KafkaProtocolException>(() => ConsumerProtocol.DeserializeSubscription(bytes.AsSpan(0, random.Next(bytes.Length))));
            bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
            DecodesOrThrowsTyped(bytes);
        });

    private static void DecodesOrThrowsTyped(byte[] bytes)
    {
        try
        {
            _ = ConsumerProtocol.DeserializeSubscription(bytes);
        }
        catch (KafkaProtocolException)
        {
        }

        try
        {
            _ = ConsumerProtocol.DeserializeAssignment(bytes);
        }
        catch (KafkaProtocolException)
        {
        }
    }
}
