namespace Messaging.Records;

/// <summary>How <see cref="RecordBatchReader"/> checks and decompresses batches. Immutable; build once and reuse.</summary>
internal sealed class RecordDecoderOptions
{
    /// <summary>Default for <see cref="MaxDecompressedBatchBytes"/>: 128 MiB.</summary>
    public const int DefaultMaxDecompressedBatchBytes = 128 * 1024 * 1024;

    private readonly int _maxDecompressedBatchBytes = DefaultMaxDecompressedBatchBytes;

    /// <summary>The defaults: CRCs verified, 128 MiB decompression limit.</summary>
    public static RecordDecoderOptions Default { get; } = new();

    /// <summary>Whether each batch's CRC-32C (and each legacy message's CRC-32) is verified. Default true, as Kafka's
    /// <c>check.crcs</c>.</summary>
    public bool VerifyCrc { get; init; } = true;

    /// <summary>The most bytes one compressed batch (or legacy wrapper message) may decompress to; more throws
    /// <see cref="KafkaProtocolException"/> instead of exhausting memory. Default
    /// <see cref="DefaultMaxDecompressedBatchBytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxDecompressedBatchBytes
    {
        get => _maxDecompressedBatchBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxDecompressedBatchBytes = value;
        }
    }
}
