namespace Messaging.Groups;

/// <summary>What both kinds of group member do with their background loops and their owner's callbacks.</summary>
internal static class GroupLoops
{
    /// <summary>Waits for a loop that was told to stop; its cancellation is the expected end.</summary>
    public static async Task StoppedAsync(Task loop)
    {
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

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
