namespace Messaging.Pools;

/// <summary>
/// The settings of one bucketed array pool (the consumer's decompression-buffer, record-slice and fetch-response
/// pools): arrays are pooled in size classes from <see cref="MinBucketSize"/> to <see cref="MaxBucketSize"/>, four per doubling (2^k times 1, 1.25, 1.5 and 1.75, so an array is at most 25% larger
/// than asked for); each bucket keeps at most <see cref="MaxRetainedPerBucket"/> arrays, and the whole pool
/// at most <see cref="MaxRetainedBytes"/>. Requests larger than <see cref="MaxBucketSize"/> are allocated exactly and
/// dropped on return. Plain settable properties, bindable from <c>IConfiguration</c>.
/// </summary>
public sealed class BucketedPoolOptions
{
    /// <summary>Whether the pool keeps anything at all. False allocates every rent and drops every return. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The smallest bucket, in elements (bytes for byte pools); smaller requests get an array this long. Rounded up to a power of two.</summary>
    public int MinBucketSize { get; set; }

    /// <summary>The largest bucket ("max buffer size"), in elements; larger requests are allocated exactly and never retained. Rounded up to a power of two.</summary>
    public int MaxBucketSize { get; set; }

    /// <summary>The most arrays one bucket keeps.</summary>
    public int MaxRetainedPerBucket { get; set; }

    /// <summary>The most bytes the whole pool keeps (arrays' element bytes).</summary>
    public long MaxRetainedBytes { get; set; }

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the first that is wrong.</summary>
    /// <param name="name">How errors name this pool, e.g. <c>Pools.DecompressionBuffers</c>.</param>
    public void Validate(string name)
    {
        if (MinBucketSize < 1 || MinBucketSize > 1 << 30)
        {
            throw new ArgumentException(name + ".MinBucketSize must be between 1 and 2^30.");
        }

        if (MaxBucketSize < MinBucketSize || MaxBucketSize > 1 << 30)
        {
            throw new ArgumentException(name + ".MaxBucketSize must be at least MinBucketSize and at most 2^30.");
        }

        if (MaxRetainedPerBucket < 0)
        {
            throw new ArgumentException(name + ".MaxRetainedPerBucket must not be negative.");
        }

        if (MaxRetainedBytes < 0)
        {
            throw new ArgumentException(name + ".MaxRetainedBytes must not be negative.");
        }
    }

    /// <summary>A copy (a pool copies its settings when it is built, so later changes do not reach it).</summary>
    /// <returns>The copy.</returns>
    public BucketedPoolOptions Clone() => (BucketedPoolOptions)MemberwiseClone();
}
