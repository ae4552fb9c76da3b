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
}
