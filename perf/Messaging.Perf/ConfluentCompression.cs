using CompressionType = Messaging.CompressionType;

namespace Messaging.Perf;

/// <summary>Our codec names mapped onto Confluent.Kafka's, so both clients compress with the same codec.</summary>
internal static class ConfluentCompression
{
    public static Confluent.Kafka.CompressionType From(CompressionType type) => type switch
    {
        CompressionType.Gzip => Confluent.Kafka.CompressionType.Gzip,
        CompressionType.Snappy => Confluent.Kafka.CompressionType.Snappy,
        CompressionType.Lz4 => Confluent.Kafka.CompressionType.Lz4,
        CompressionType.Zstd => Confluent.Kafka.CompressionType.Zstd,
        _ => Confluent.Kafka.CompressionType.None,
    };
}
