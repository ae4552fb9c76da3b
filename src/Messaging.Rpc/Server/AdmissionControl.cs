using System.Collections.Concurrent;

namespace Messaging.Rpc;

/// <summary>The answer to "may this request start now?".</summary>
internal enum Admission
{
    /// <summary>Started: it holds a global slot (and its method's, and its key when keys run in order).</summary>
    Admitted,

    /// <summary>The server runs as many requests as it may: take no more records until one finishes.</summary>
    ServerFull,

    /// <summary>Its method runs as many requests as it may: hold its partition until one finishes.</summary>
    MethodFull,

    /// <summary>A request with the same key still runs (keys in order): hold its partition until it finishes.</summary>
    KeyBusy,
}

/// <summary>
/// The server's concurrency limits: a global one (requests admitted and not finished), one per method (so a slow
/// method cannot take every slot), and — when keys run in order — at most one request per key at a time.
/// </summary>
/// <remarks>
/// One thread admits (the consuming loop), any thread releases. Since only the admitting thread takes slots, its
/// check-then-increment cannot overshoot a limit; a release racing with a check only makes the check conservative,
/// and the releaser wakes the loop to look again.
/// </remarks>
internal sealed class AdmissionControl
{
    private readonly int _maxInFlight;
    private readonly ConcurrentDictionary<ReadOnlyMemory<byte>, byte>? _keys;
    private int _inFlight;

    public AdmissionControl(int maxInFlight, bool keysInOrder)
    {
        _maxInFlight = maxInFlight;
        _keys = keysInOrder ? new ConcurrentDictionary<ReadOnlyMemory<byte>, byte>(MemoryComparer.Instance) : null;
    }

    /// <summary>Requests admitted and not released.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>True when a request could start as far as the global limit goes.</summary>
    public bool HasRoom => Volatile.Read(ref _inFlight) < _maxInFlight;

    public Admission TryAdmit(ServerRequest request)
    {
        if (!HasRoom)
        {
            return Admission.ServerFull;
        }

        // A request that runs no handler (unknown method, garbled, expired) still takes a global slot while its reply
        // is sent, but never a method's slot or its key.
        var method = request.Problem == RpcStatus.Ok ? request.Method : null;
        if (method is not null && !method.TryEnter())
        {
            return Admission.MethodFull;
        }

        if (method is not null && _keys is not null && request.Key is { } key)
        {
            // The key's bytes are a slice of the pooled record, which stays live until the request is released.
            if (!_keys.TryAdd(key, 0))
            {
                method.Exit();
                return Admission.KeyBusy;
            }

            request.HoldsKey = true;
        }

        request.HoldsMethodSlot = method is not null;
        Interlocked.Increment(ref _inFlight);
        return Admission.Admitted;
    }

    /// <summary>Gives back what <see cref="TryAdmit"/> took (before the request's record is recycled: the key set points into it).</summary>
    public void Release(ServerRequest request)
    {
        if (request.HoldsKey)
        {
            _keys!.TryRemove(request.Key!.Value, out _);
            request.HoldsKey = false;
        }

        if (request.HoldsMethodSlot)
        {
            request.Method!.Exit();
            request.HoldsMethodSlot = false;
        }

        Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>Compares keys by content.</summary>
    private sealed class MemoryComparer : IEqualityComparer<ReadOnlyMemory<byte>>
    {
        public static MemoryComparer Instance { get; } = new();

        public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

        public int GetHashCode(ReadOnlyMemory<byte> obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj.Span);
            return hash.ToHashCode();
        }
    }
}
