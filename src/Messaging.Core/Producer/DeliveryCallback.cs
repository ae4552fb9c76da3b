using Messaging.Buffers;

namespace Messaging.Producer;

/// <summary>
/// A record's <see cref="DeliveryHandler{TState}"/> and its state, held for the batch's delivery bookkeeping (which
/// keeps one object reference per record: a value-type state stored there directly would be boxed).
/// </summary>
internal abstract class DeliveryCallback
{
    /// <summary>Calls the handler once and gives the holder back to its pool (before the call: the handler may produce again).</summary>
    public abstract void Deliver(in DeliveryResult result, ProduceException? error);

    /// <summary>The record never made it into a batch: back to the pool without a call.</summary>
    public abstract void Abandon();
}

/// <summary>The holder for one <typeparamref name="TState"/>: pooled per state type, so steady-state producing allocates nothing.</summary>
internal sealed class DeliveryCallback<TState> : DeliveryCallback
{
    // Enough for the records of a busy producer's batches in flight; beyond it holders are left to the GC.
    private static readonly BoundedPool<DeliveryCallback<TState>> Pool = new(64 * 1024);

    private DeliveryHandler<TState>? _handler;
    private TState _state = default!;

    public static DeliveryCallback<TState> Rent(DeliveryHandler<TState> handler, TState state)
    {
        var callback = Pool.Rent() ?? new DeliveryCallback<TState>();
        callback._handler = handler;
        callback._state = state;
        return callback;
    }

    public override void Deliver(in DeliveryResult result, ProduceException? error)
    {
        var handler = _handler!;
        var state = _state;
        Return();
        handler(in result, error, state);
    }

    public override void Abandon() => Return();

    private void Return()
    {
        _handler = null;
        _state = default!;
        Pool.Return(this);
    }
}
