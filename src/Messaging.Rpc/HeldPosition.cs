namespace Messaging.Rpc;

/// <summary>Where the RPC client's reply reader and the server's request loop resume a partition the consumer holds after an error.</summary>
internal static class HeldPosition
{
    /// <summary>
    /// After a log truncation: where the log diverges, so every record of the new leader's log is read (what was read
    /// past there is gone from the log); at the held position itself when the leader could not say — nothing there
    /// was read, so nothing is skipped.
    /// </summary>
    public static long AfterTruncation(ConsumeException error) => error.DivergingOffset >= 0 ? error.DivergingOffset : error.Offset;
}
