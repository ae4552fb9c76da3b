using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Messaging.Rpc;

/// <summary>A pending call whose reply decodes to <typeparamref name="T"/>; the awaitable behind <c>CallAsync</c>.</summary>
/// <typeparam name="T">The reply's type.</typeparam>
internal sealed class PendingCall<T> : PendingCall, IValueTaskSource<T>
{
    /// <summary>How many idle calls of one reply type stay pooled; beyond that a finished call is left to the GC.</summary>
    private const int MaxPooled = 4096;

    private static readonly ConcurrentQueue<PendingCall<T>> Pool = new();
    private static int s_pooled;

    // Continuations run on the thread pool: never on the reply loop, the deadline sweep or a producer I/O thread.
    // A reply completes the call from a ReplyRun's work item, which is already that, so it runs the continuation in place.
    private ManualResetValueTaskSourceCore<T> _core = new() { RunContinuationsAsynchronously = true };

    /// <summary>The decoded reply between <see cref="TryDecodeReply"/> and <see cref="CompleteWithReply"/>.</summary>
    private T? _reply;

    public static PendingCall<T> Rent()
    {
        if (Pool.TryDequeue(out var call))
        {
            Interlocked.Decrement(ref s_pooled);
            return call;
        }

        return new PendingCall<T>();
    }

    /// <summary>The caller's awaitable for the current generation.</summary>
    public ValueTask<T> AsValueTask() => new(this, _core.Version);

    public override bool TryDecodeReply(ReadOnlySpan<byte> payload, out Exception? decodeError)
    {
        try
        {
            _reply = Serializer!.Deserialize<T>(payload);
        }
#pragma warning disable CA1031 // Any codec failure becomes the call's typed error; the reply loop goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            decodeError = ex;
            return false;
        }

        decodeError = null;
        return true;
    }

    public override void CompleteWithReply()
    {
        var reply = _reply!;
        _reply = default;
        _core.RunContinuationsAsynchronously = false;
        _core.SetResult(reply);
    }

    public override void SetError(Exception error) => _core.SetException(error);

    public T GetResult(short token)
    {
        // Only the await of the current, completed call recycles it. A stale token (a result read twice) or a call still
        // pending (`.Result` or `GetAwaiter().GetResult()` on a ValueTask that has not completed) throws without
        // touching it: recycling then would hand a call still in the pending map — or one another caller now owns —
        // back to the pool, and its reply to whoever rents it next.
        if (token != _core.Version)
        {
            throw new InvalidOperationException("This call's ValueTask was awaited already; it may be awaited once.");
        }

        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            throw new InvalidOperationException(
                "This call has not completed; await its ValueTask (or block on AsTask()) instead of reading its result synchronously.");
        }

        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    protected override void ResetOutcome()
    {
        _core.Reset();
        _core.RunContinuationsAsynchronously = true;
    }

    protected override void ReturnToPool()
    {
        if (Interlocked.Increment(ref s_pooled) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref s_pooled);
        }
    }
}
