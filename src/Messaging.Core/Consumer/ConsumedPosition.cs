namespace Messaging.Consumer;

/// <summary>
/// A partition's consumed position — the offset of the next record for the application — and the leader epoch of the
/// last batch consumed before it (-1 where unknown): what a commit of the position carries (KIP-320).
/// </summary>
/// <param name="Offset">The position, or -1 while unknown.</param>
/// <param name="LeaderEpoch">The leader epoch of what was consumed before it, or -1.</param>
internal readonly record struct ConsumedPosition(long Offset, int LeaderEpoch)
{
    /// <summary>The position of <paramref name="generation"/>, read before its epoch (see <see cref="CursorGeneration.LeaderEpoch"/>).</summary>
    public static ConsumedPosition Of(CursorGeneration generation)
    {
        long offset = generation.Position;
        return new ConsumedPosition(offset, generation.LeaderEpoch);
    }
}
