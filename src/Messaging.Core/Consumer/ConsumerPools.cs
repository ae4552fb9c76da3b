namespace Messaging.Pools;

/// <summary>
/// The four pools a consumer takes its memory from: decompression buffers, record objects, record slices (the arrays
/// batches are delivered in) and fetch-response buffers. Set one in <see cref="KafkaConsumerOptions.Pools"/>; the
/// default is <see cref="Shared"/>.
/// </summary>
/// <remarks>
/// <para>One way to configure them, three starting points: <see cref="Shared"/> (the process-wide pools, the
/// default), <see cref="None"/> (no pooling), or <see cref="Create"/> (pools of the consumer's own, built from
/// settings, e.g. bound from <c>IConfiguration</c>). To plug in a custom implementation of one pool, build a set with
/// the constructor from the others you want, e.g. <c>new ConsumerPools(ConsumerPools.Shared.DecompressionBuffers,
/// myRecordPool, ConsumerPools.Shared.RecordSlices, ConsumerPools.Shared.FetchResponses)</c>.</para>
/// <para>A set is immutable and may be shared by any number of consumers: pools are thread-safe.</para>
/// </remarks>
public sealed class ConsumerPools
{
    /// <summary>A set of the given pools.</summary>
    /// <param name="decompressionBuffers">Where compressed batches are decompressed to.</param>
    /// <param name="records">Where record objects come from.</param>
    /// <param name="recordSlices">Where the arrays batches are delivered in come from.</param>
    /// <param name="fetchResponses">Where Fetch responses are read into.</param>
    /// <exception cref="ArgumentNullException">A pool is null.</exception>
    public ConsumerPools(IDecompressionBufferPool decompressionBuffers, IRecordPool records, IRecordSlicePool recordSlices, IFetchResponsePool fetchResponses)
    {
        ArgumentNullException.ThrowIfNull(decompressionBuffers);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(recordSlices);
        ArgumentNullException.ThrowIfNull(fetchResponses);
        DecompressionBuffers = decompressionBuffers;
        Records = records;
        RecordSlices = recordSlices;
        FetchResponses = fetchResponses;
    }

    /// <summary>
    /// The default: the process-wide pools with the default settings (<see cref="DecompressionBufferPool.Shared"/>,
    /// <see cref="RecordPool.Shared"/>, <see cref="RecordSlicePool.Shared"/>, <see cref="FetchResponsePool.Shared"/>),
    /// so every consumer of the process shares one bounded working set.
    /// </summary>
    public static ConsumerPools Shared { get; } = new(DecompressionBufferPool.Shared, RecordPool.Shared, RecordSlicePool.Shared, FetchResponsePool.Shared);

    /// <summary>No pooling: every buffer, record object and array is allocated and left to the GC (<see cref="NoPooling"/>).</summary>
    public static ConsumerPools None { get; } = new(NoPooling.DecompressionBuffers, NoPooling.Records, NoPooling.RecordSlices, NoPooling.FetchResponses);

    /// <summary>Where compressed batches are decompressed to.</summary>
    public IDecompressionBufferPool DecompressionBuffers { get; }

    /// <summary>Where record objects come from.</summary>
    public IRecordPool Records { get; }

    /// <summary>Where the arrays batches are delivered in come from.</summary>
    public IRecordSlicePool RecordSlices { get; }

    /// <summary>Where Fetch responses are read into.</summary>
    public IFetchResponsePool FetchResponses { get; }

    /// <summary>New pools, not shared with any other set, built from <paramref name="options"/>.</summary>
    /// <param name="options">The settings of each pool (read once, now).</param>
    /// <returns>The set.</returns>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public static ConsumerPools Create(ConsumerPoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new ConsumerPools(
            new DecompressionBufferPool(options.DecompressionBuffers),
            new RecordPool(options.Records),
            new RecordSlicePool(options.RecordSlices),
            new FetchResponsePool(options.FetchResponses));
    }
}
