namespace Messaging.Producer;

/// <summary>
/// What an append must tell its partition's sender: nothing, look now (a batch filled up, or waited for memory), or
/// look by a time (a new batch, ready at its linger unless the sender finds its broker idle first).
/// </summary>
/// <param name="sender">The partition's sender, or null when it need not be told.</param>
/// <param name="byTicks">0 to look now; else when the new batch is ready at the latest (a timestamp of the producer's clock).</param>
internal readonly struct SenderWake(BrokerSender? sender, long byTicks)
{
    /// <summary>True when there is nobody to tell.</summary>
    public bool IsEmpty => sender is null;

    /// <summary>Tells the sender. Called by the appending thread after it left the partition's lock.</summary>
    public void Notify()
    {
        if (sender is null)
        {
            return;
        }

        if (byTicks == 0)
        {
            sender.Wake();
        }
        else
        {
            sender.WakeForBatch(byTicks);
        }
    }
}
