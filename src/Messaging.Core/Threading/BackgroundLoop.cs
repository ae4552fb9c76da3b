namespace Messaging.Threading;

/// <summary>How every background loop of the client (senders, fetchers, metadata, housekeeping, group members) is awaited when it stops.</summary>
internal static class BackgroundLoop
{
    /// <summary>
    /// Completes when <paramref name="loop"/> has ended. A loop ends by its stop token being cancelled, so the
    /// <see cref="OperationCanceledException"/> it may end with is the expected outcome, not an error; any other
    /// exception is the loop's failure and is rethrown.
    /// </summary>
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
}
