using Messaging.Rpc;

namespace Messaging.Hosting.Tests.RpcServers;

public sealed record OrderRequest(string Sku, int Quantity);

public sealed record OrderReply(string Sku, int Quantity, int UnitOfWork);

/// <summary>Counts the <see cref="UnitOfWork"/> instances made and disposed, and holds the gate of the gated handlers.</summary>
public sealed class ScopeLog
{
    private int _created;
    private int _disposed;
    private int _entered;

    public int Created => Volatile.Read(ref _created);

    public int Disposed => Volatile.Read(ref _disposed);

    /// <summary>How many gated handlers are waiting (or waited) at the gate.</summary>
    public int Entered => Volatile.Read(ref _entered);

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int CountCreation() => Interlocked.Increment(ref _created);

    public void CountDisposal() => Interlocked.Increment(ref _disposed);

    public void Enter() => Interlocked.Increment(ref _entered);
}

/// <summary>A scoped dependency: one per request scope, numbered, disposed with the scope.</summary>
public sealed class UnitOfWork(ScopeLog log) : IDisposable
{
    private int _disposed;

    public int Number { get; } = log.CountCreation();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            log.CountDisposal();
        }
    }
}

/// <summary>Answers with the request and the number of its scope's unit of work.</summary>
public sealed class PlaceOrderHandler(UnitOfWork work) : IRpcHandler<OrderRequest, OrderReply>
{
    public ValueTask<OrderReply> HandleAsync(OrderRequest request, RpcServerContext context) =>
        ValueTask.FromResult(new OrderReply(request.Sku, request.Quantity, work.Number));
}

/// <summary>Always fails (after taking its scope's unit of work).</summary>
public sealed class FailingOrderHandler(UnitOfWork work) : IRpcHandler<OrderRequest, OrderReply>
{
    public ValueTask<OrderReply> HandleAsync(OrderRequest request, RpcServerContext context) =>
        throw new InvalidOperationException("out of stock: " + request.Sku + " (unit of work " + work.Number + ")");
}

/// <summary>Answers once the log's gate opens.</summary>
public sealed class GatedOrderHandler(UnitOfWork work, ScopeLog log) : IRpcHandler<OrderRequest, OrderReply>
{
    public async ValueTask<OrderReply> HandleAsync(OrderRequest request, RpcServerContext context)
    {
        log.Enter();
        await log.Gate.Task.WaitAsync(context.CancellationToken);
        return new OrderReply(request.Sku, request.Quantity, work.Number);
    }
}

/// <summary>Never answers by itself: waits until the server cancels it.</summary>
public sealed class StuckOrderHandler(UnitOfWork work, ScopeLog log) : IRpcHandler<OrderRequest, OrderReply>
{
    public async ValueTask<OrderReply> HandleAsync(OrderRequest request, RpcServerContext context)
    {
        log.Enter();
        await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
        return new OrderReply(request.Sku, request.Quantity, work.Number);
    }
}
