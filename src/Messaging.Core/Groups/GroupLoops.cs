using Messaging.Connection;
using Messaging.Threading;

namespace Messaging.Groups;

/// <summary>How both kinds of group member run their owner's callbacks.</summary>
internal static class GroupLoops
{
    /// <summary>
    /// Runs an owner's callback. Its failure is logged and goes no further: the owner's listener reports its own
    /// errors, and a member must not stop heartbeating or rebalancing because of one. Cancellation by the member's
    /// own stop passes through.
    /// </summary>
    public static async Task RunCallbackAsync(Func<ValueTask> callback, GroupLog log, string groupId, CancellationToken stopping)
    {
        try
        {
            await callback().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            log.CallbackFailed(groupId, ex);
        }
    }

    /// <summary>
    /// Runs an owner's callback during close (the member's stop is already cancelled), with the closing caller's
    /// token. Its failure is logged, as on the loops; its cancellation by that token is returned (true), so close
    /// still leaves the group and releases the member before it tells the caller.
    /// </summary>
    public static async Task<bool> RunClosingCallbackAsync(Func<ValueTask> callback, GroupLog log, string groupId, CancellationToken cancellationToken)
    {
        try
        {
            await callback().ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return true;
        }
        catch (Exception ex)
        {
            log.CallbackFailed(groupId, ex);
            return false;
        }
    }

    /// <summary>
    /// The token a closing member leaves the group with: the caller's, unless the caller has given up already (during
    /// the revocation): the leave still goes out then, bounded by the request timeout alone, or the group would wait a
    /// whole session timeout to hand the member's partitions to the others.
    /// </summary>
    public static CancellationToken LeaveToken(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken;

    /// <summary>
    /// How long a leave looks the coordinator up when it is unknown: a few seconds, enough to find again one that is
    /// there, when a commit that just failed (COORDINATOR_NOT_AVAILABLE, a lost connection) forgot it; not the whole
    /// request timeout added to a close whose coordinator cannot be found.
    /// </summary>
    public static readonly TimeSpan LeaveLookupTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The coordinator's connection for a leave: the open one, or one looked up again for at most
    /// <see cref="LeaveLookupTimeout"/> (the request timeout, if shorter) within <paramref name="token"/>.
    /// </summary>
    public static async ValueTask<BrokerConnection> LeaveConnectionAsync(GroupCoordinator coordinator, CancellationToken token)
    {
        if (coordinator.Current is { } open)
        {
            return open;
        }

        var settings = coordinator.Settings;
        var limit = settings.RequestTimeout < LeaveLookupTimeout ? settings.RequestTimeout : LeaveLookupTimeout;
        using var lookup = new CancellationTokenSource(Clock.TimerDelay(limit), settings.Time); // the group's clock, as every group timer
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token, lookup.Token);
        return await coordinator.GetConnectionAsync(bounded.Token).ConfigureAwait(false);
    }
}
