namespace Messaging.Core.Tests;

/// <summary>The one "where to start / what to look up" type shared by the consumer and the admin client.</summary>
public sealed class OffsetSpecTests
{
    [Fact]
    public void Each_form_is_exactly_one_kind_with_kafkas_wire_value()
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        (OffsetSpec Spec, bool Offset, bool Timestamp, bool Earliest, bool Latest, bool Max, long Value, string Text)[] cases =
        [
            (OffsetSpec.At(7), true, false, false, false, false, 7, "7"),
            (OffsetSpec.ForTimestamp(time), false, true, false, false, false, 1_700_000_000_123, "timestamp 1700000000123"),
            (OffsetSpec.Earliest, false, false, true, false, false, -2, "earliest"),
            (OffsetSpec.Latest, false, false, false, true, false, -1, "latest"),
            (OffsetSpec.MaxTimestamp, false, false, false, false, true, -3, "max-timestamp"),
        ];

        foreach (var (spec, offset, timestamp, earliest, latest, max, value, text) in cases)
        {
            Assert.Equal((offset, timestamp, earliest, latest, max), (spec.IsOffset, spec.IsTimestamp, spec.IsEarliest, spec.IsLatest, spec.IsMaxTimestamp));
            Assert.Equal(value, spec.Value);
            Assert.Equal(text, spec.ToString());
            if (!offset)
            {
                Assert.Equal(value, spec.ListOffsetsTimestamp);
            }
        }
    }

    [Fact]
    public void A_long_and_the_default_are_exact_offsets_and_an_exact_offset_has_no_lookup_value()
    {
        OffsetSpec fromLong = 42;
        Assert.Equal(OffsetSpec.At(42), fromLong);
        Assert.Equal(OffsetSpec.FromInt64(42), fromLong);
        Assert.Equal(OffsetSpec.At(0), default);
        Assert.NotEqual(OffsetSpec.At(1_000), OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1_000)));
        Assert.Throws<InvalidOperationException>(() => fromLong.ListOffsetsTimestamp);
    }

    [Fact]
    public void Negative_offsets_and_times_before_1970_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OffsetSpec.At(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => (OffsetSpec)(-2L));
        Assert.Throws<ArgumentOutOfRangeException>(() => OffsetSpec.ForTimestamp(DateTimeOffset.UnixEpoch.AddMilliseconds(-1)));
    }
}
