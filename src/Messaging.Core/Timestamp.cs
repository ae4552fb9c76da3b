using System.Globalization;

namespace Messaging;

/// <summary>
/// A record's timestamp as Kafka stores it — milliseconds since the Unix epoch — with what it means
/// (<see cref="TimestampType"/>). The one timestamp type of the client: what a producer sets, what a delivery report
/// and a consumed record carry. Converts implicitly from <see cref="DateTimeOffset"/> (as a create time).
/// </summary>
/// <param name="UnixTimeMilliseconds">Milliseconds since 1970-01-01T00:00:00Z (-1 when there is none).</param>
/// <param name="Type">Whether it is the producer's create time or the broker's log-append time.</param>
public readonly record struct Timestamp(long UnixTimeMilliseconds, TimestampType Type)
{
    /// <summary>No timestamp (legacy magic-0 records).</summary>
    public static Timestamp None => new(-1, TimestampType.NotAvailable);

    /// <summary>The timestamp as a UTC <see cref="DateTimeOffset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The milliseconds are outside what <see cref="DateTimeOffset"/> can hold (a record without a timestamp has -1).</exception>
    public DateTimeOffset UtcDateTime => DateTimeOffset.FromUnixTimeMilliseconds(UnixTimeMilliseconds);

    /// <summary>A create time.</summary>
    public static Timestamp FromDateTimeOffset(DateTimeOffset time) => new(time.ToUnixTimeMilliseconds(), TimestampType.CreateTime);

    /// <summary>A create time (what a producer sets).</summary>
    public static implicit operator Timestamp(DateTimeOffset time) => FromDateTimeOffset(time);

    /// <inheritdoc/>
    public override string ToString() =>
        Type == TimestampType.NotAvailable
            ? "none"
            : UnixTimeMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms (" + Type.ToString() + ")";
}
