namespace Messaging.Rpc;

/// <summary>
/// Disposes the nested clients a constructor built before it failed (a consumer whose TLS files are missing, say): they
/// run until disposed, and a constructor that throws has no disposal of its own. Nobody awaits it — the constructor
/// already throws its own error — so what the disposal throws is dropped.
/// </summary>
internal static class QuietDisposal
{
    public static async Task DisposeAsync(params IAsyncDisposable?[] built)
    {
        foreach (var item in built)
        {
            try
            {
                if (item is not null)
                {
                    await item.DisposeAsync().ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // Nobody awaits this: the constructor already throws its own error.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
