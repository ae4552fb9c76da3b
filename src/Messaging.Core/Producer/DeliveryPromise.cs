using Messaging.Buffers;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// The pooled value-task source behind <c>ProduceAsync</c>: one per awaited record, reused, so awaiting a delivery
/// allocates no Task.
/// </summary>
/// <remarks>
/// The two owners (see <see cref="PooledValueTaskSource{TResult}"/>) are the batch that will complete it — with
/// <see cref="PooledValueTaskSource{TResult}.TrySetResult"/> or <see cref="PooledValueTaskSource{TResult}.TrySetException"/>,
/// which also let the batch's share go — and the caller's awaiter. A caller that cancelled its wait stops waiting at
/// once; its record may still be delivered, and that late result is dropped.
/// </remarks>
internal sealed class DeliveryPromise : PooledValueTaskSource<DeliveryResult>
{
    // Enough for tens of thousands of awaits in flight at once; a promise is about 100 bytes.
    private static readonly BoundedPool<DeliveryPromise> Pool = new(32 * 1024);

    private DeliveryPromise()
    {
    }

    public static DeliveryPromise Rent() => Pool.Rent() ?? new DeliveryPromise();

    /// <summary>The producer drops the promise without completing it (the record never got buffered): the caller never saw it either.</summary>
    public void Abandon() => RecycleUnused();

    protected override Exception CreateCancellationException(CancellationToken cancellationToken) =>
        new OperationCanceledException("The wait for the delivery report was cancelled; the record may still be delivered.", cancellationToken);

    protected override void ReturnToPool() => Pool.Return(this);
}
