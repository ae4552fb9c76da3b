using Messaging.Threading;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>
/// The exclusive window: a stretch during which the connection writes nothing but its owner's requests — SASL
/// authentication, and re-authentication on the open connection (KIP-368).
/// </summary>
/// <remarks>
/// <para>The window is the write lock, held from <see cref="EnterExclusiveAsync"/> to <see cref="ExitExclusive"/>.
/// Senders that come meanwhile find the writer busy, as they do behind any long write, and wait on the lock in the
/// slow path; the fast path is unchanged. Requests written before the window stay in flight and complete normally:
/// the broker answers a connection in order, so their responses arrive before the window's, and the read loop
/// matches everything against one FIFO as always.</para>
/// <para>Why a window's request takes no in-flight slot: waiting senders may hold every slot while they wait for the
/// write lock the window holds, so a window that waited for a slot would wait for ever. Its requests go into the
/// FIFO past the limit instead (the FIFO has room for one more), marked <see cref="IPendingRequest.OutsideInFlightLimit"/>
/// so the read loop and <c>Close</c> release no slot for them. The owner sends one at a time and awaits each response.</para>
/// </remarks>
internal sealed partial class BrokerConnection
{
    /// <summary>The connection setup timeout, which also bounds a re-authentication (a setup step repeated).</summary>
    public TimeSpan SetupTimeout => _settings.ConnectTimeout;

    /// <summary>
    /// Opens the window: waits for the write in progress (if any) and keeps the write lock, so no other request is
    /// written until <see cref="ExitExclusive"/>. The caller must exit, whatever happens.
    /// </summary>
    /// <exception cref="KafkaConnectionException">The connection closed.</exception>
    public async ValueTask EnterExclusiveAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!IsOpen)
        {
            _writeLock.Release();
            throw ClosedError();
        }
    }

    /// <summary>Closes the window: senders held back write again.</summary>
    public void ExitExclusive() => _writeLock.Release();

    /// <summary>
    /// Inside the window: sends a request at the negotiated version and decodes the response, returned with the frame
    /// it was decoded from — its byte fields (SASL tokens) are slices of that frame, so the caller disposes the frame
    /// only once done with them. One at a time: await it before the next. If it fails or is cancelled, the exchange it
    /// belongs to is broken — close the connection before leaving the window.
    /// </summary>
    /// <remarks>
    /// Its timeout counts from now and also covers the requests still in flight ahead of it (a Fetch waiting out its
    /// max wait), whose responses come first.
    /// </remarks>
    public async ValueTask<(TResponse Response, ResponseFrame Frame)> SendExclusiveAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaResponse<TResponse>
    {
        var version = ApiVersions.VersionFor(TRequest.ApiKey);
        var encoded = Encode(request, version, sizeHint: 0, out var correlationId);
        var pending = FramePendingRequest.Rent(TRequest.ApiKey, version, correlationId, _settings.Clock, TimeoutBehindPending(), responseBuffers: null);
        pending.OutsideInFlightLimit = true;
        if (!TryEnqueue(pending))
        {
            encoded.WrittenSpan.Clear(); // a SASL request: it holds a credential (see WriteAndReleaseAsync)
            RequestBuffers.Return(encoded);
            pending.TrySetException(ClosedError());
        }
        else
        {
            _settings.Metrics.RequestsInFlight.Add(1, _settings.ClientTag);
            pending.RegisterCancellation(cancellationToken);

            // A failed write closes the connection, which fails the request in the FIFO: the await below reports it.
            await WriteAndReleaseAsync(encoded, TRequest.ApiKey, keepWriteLock: true).ConfigureAwait(false);
        }

        var frame = await pending.AsValueTask().ConfigureAwait(false);
        try
        {
            return (ResponseDecoder.Decode<TResponse>(frame, version, Limits), frame);
        }
        catch (KafkaProtocolException ex)
        {
            frame.Dispose();
            throw Errors.KafkaExceptions.UndecodableResponse(TRequest.ApiKey, version, Name, ex);
        }
    }

    /// <summary>
    /// The request timeout, plus however long the latest request in flight may still take; saturating, as a deadline
    /// is: with the largest request timeout there is, that sum is no TimeSpan.
    /// </summary>
    private TimeSpan TimeoutBehindPending()
    {
        var clock = _settings.Clock;
        var now = clock.Now;
        var latest = now;
        lock (_pending.SyncRoot)
        {
            for (var i = 0; i < _pending.Count; i++)
            {
                latest = Math.Max(latest, _pending.At(i).DeadlineTimestamp);
            }
        }

        return Clock.Sum(_settings.RequestTimeout, clock.Between(now, latest));
    }
}
