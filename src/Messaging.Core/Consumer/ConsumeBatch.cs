using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Messaging.Consumer;

namespace Messaging;

/// <summary>
/// A batch of raw records of one partition, from <c>ConsumeBatchAsync</c>: span access to <see cref="ConsumedRecord"/>
/// handles whose keys, values and header values are slices of pooled buffers. Dispose it when done: every record not
/// recycled individually is recycled, and once all are, the memory goes back to its pools.
/// </summary>
/// <remarks>
/// A value type holding the pooled batch and its version: after disposal (or once every record was recycled),
/// <see cref="Records"/> throws <see cref="ObjectDisposedException"/>, and disposing again does nothing. Records may
/// be recycled one by one before the batch is disposed (to release memory early); a record must not be recycled on
/// one thread while its batch is disposed on another.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
[SuppressMessage("Performance", "CA1815:Override equals and operator equals on value types", Justification = "A handle: equality of handles has no meaning the application needs.")]
public readonly struct ConsumeBatch : IDisposable
{
    private readonly RecordSlice? _slice;
    private readonly int _version;
    private readonly int _start;

    /// <summary>The records of <paramref name="slice"/> from <paramref name="start"/> on (those before were handed out already).</summary>
    internal ConsumeBatch(RecordSlice slice, int start = 0)
    {
        _slice = slice;
        _version = slice.Version;
        _start = start;
        TopicPartition = slice.TopicPartition;
        Count = slice.Count - start;
    }

    /// <summary>The partition every record of the batch belongs to.</summary>
    public TopicPartition TopicPartition { get; }

    /// <summary>The number of records.</summary>
    public int Count { get; }

    /// <summary>True once the batch was disposed (or all its records recycled), or for a default batch.</summary>
    public bool IsDisposed => _slice is null || _slice.Version != _version;

    /// <summary>The records, in offset order. Handles of records recycled individually are stale (they throw when read).</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed, or every record in it was recycled.</exception>
    public ReadOnlySpan<ConsumedRecord> Records
    {
        get
        {
            var slice = _slice;
            if (slice is null || slice.Version != _version)
            {
                ThrowDisposed();
            }

            return slice.Records.Slice(_start);
        }
    }

    /// <summary>Recycles every record not yet recycled. Idempotent.</summary>
    public void Dispose()
    {
        var slice = _slice;
        if (slice is not null && slice.Version == _version)
        {
            slice.RecycleFrom(_start);
        }
    }

    [DoesNotReturn]
    private static void ThrowDisposed() =>
        throw new ObjectDisposedException(nameof(ConsumeBatch), "The batch was disposed (or all its records recycled); its memory may now hold another batch's records.");
}
