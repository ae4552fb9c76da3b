using System.Diagnostics;
using Messaging.Threading;

namespace Messaging.Connection;

/// <summary>
/// A request sent on a connection and awaiting its response, as the connection's FIFO sees it. Pooled: a request in
/// the steady state allocates nothing.
/// </summary>
/// <remarks>
/// <para>Two owners hold it (see <see cref="PooledValueTaskSource{TResult}"/>): the connection's FIFO, which lets go by
/// completing it — with the response, or with the connection's failure — and the caller's awaiter, which lets go
/// when it takes the result. So a caller that cancelled cannot see the late response, and the late response cannot
/// land in a recycled request.</para>
/// <para>Completion is first-wins: the response, a failure of the connection, the caller's cancellation and the
/// timeout sweep race; losers do nothing (a losing response frame is disposed by the read loop).</para>
/// <para>An interface, not a base class, because each request is a <see cref="PooledValueTaskSource{TResult}"/> of its
/// own result type (a raw frame, or a decoded response) and one FIFO holds them all.</para>
/// </remarks>
internal interface IPendingRequest
{
    int CorrelationId { get; }

    ApiKey ApiKey { get; }

    short Version { get; }

    /// <summary>When it was created, as a timestamp of the connection settings' <see cref="Threading.Clock"/>.</summary>
    long StartTimestamp { get; }

    /// <summary>When it is overdue, as a timestamp of the connection settings' <see cref="Threading.Clock"/>.</summary>
    long DeadlineTimestamp { get; }

    /// <summary>When it was created, in <see cref="Stopwatch"/> ticks whatever the client's clock: the request duration metric measures real time.</summary>
    long MeasuredFrom { get; }

    /// <summary>The pool the response frame's buffer comes from, or null for the read loop's default.</summary>
    IResponseBufferPool? ResponseBuffers { get; }

    /// <summary>
    /// True for a request of an exclusive window (re-authentication), which is written while the connection holds every
    /// other request back and so takes no in-flight slot: nothing releases one when it completes.
    /// </summary>
    bool OutsideInFlightLimit { get; }

    /// <summary>Fails the caller's await with <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires; the entry stays in the FIFO until its response is read.</summary>
    void RegisterCancellation(CancellationToken cancellationToken);

    /// <summary>
    /// The FIFO hands the frame over and lets go: true if the request took the frame (it now owns it); false if it
    /// was already completed (the FIFO still owns the frame). Either way the FIFO must not touch the request again.
    /// </summary>
    bool TryComplete(ResponseFrame frame);

    /// <summary>The FIFO fails the caller's await and lets go; false if the request was already completed. Either way the FIFO must not touch the request again.</summary>
    bool TrySetException(Exception error);
}
