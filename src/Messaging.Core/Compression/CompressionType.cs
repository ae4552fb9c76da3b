namespace Messaging;

/// <summary>
/// The compression codec of a record batch or legacy message: the value of bits 0-2 of the attributes field.
/// </summary>
public enum CompressionType : byte
{
    /// <summary>No compression (0).</summary>
    None = 0,

    /// <summary>gzip (1): RFC 1952 members, as <c>java.util.zip.GZIPOutputStream</c> writes them.</summary>
    Gzip = 1,

    /// <summary>Snappy (2): a raw Snappy block, or the xerial framing the Java client writes.</summary>
    Snappy = 2,

    /// <summary>LZ4 (3): the LZ4 frame format (magic 0x184D2204) with independent blocks.</summary>
    Lz4 = 3,

    /// <summary>Zstandard (4): one or more zstd frames. Requires record batch magic 2.</summary>
    Zstd = 4,
}
