namespace Messaging.Compression;

/// <summary>The codec singletons, looked up by <see cref="CompressionType"/>.</summary>
internal static class CompressionCodecs
{
    /// <summary>Returns the codec for <paramref name="type"/>.</summary>
    /// <param name="type">Gzip, Snappy, Lz4 or Zstd.</param>
    /// <returns>The codec.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is <see cref="CompressionType.None"/> or unknown.</exception>
    public static ICompressionCodec Get(CompressionType type) => type switch
    {
        CompressionType.Gzip => GzipCodec.Instance,
        CompressionType.Snappy => SnappyCodec.Instance,
        CompressionType.Lz4 => Lz4Codec.Instance,
        CompressionType.Zstd => ZstdCodec.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a compression codec."),
    };

    /// <summary>True for the four codecs (not for <see cref="CompressionType.None"/> or values 5-7).</summary>
    /// <param name="type">The value to test.</param>
    /// <returns>Whether <see cref="Get"/> accepts it.</returns>
    public static bool IsCodec(CompressionType type) => type is >= CompressionType.Gzip and <= CompressionType.Zstd;
}
