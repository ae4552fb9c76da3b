namespace Messaging.Consumer;

/// <summary>
/// One generation of a partition's cursor — the stretch between two events that invalidate what was fetched (a seek,
/// a pause, a hold after an error, an offset reset, unassignment) — with the position the application has reached
/// within it. Data is fetched for a generation and delivered only while that generation is the cursor's current one.
/// </summary>
/// <remarks>
/// <para>Why the position lives here rather than on the cursor: the consuming thread steps the position past each
/// record it hands out, without the fetcher's lock (no lock per record). Were the position one field of the cursor, a
/// seek from another thread landing between the consuming thread's "is this data still current?" check and its write
/// would be overwritten by that write, and the application would read on from the record it was handed rather than
/// from where it sought. Here the consuming thread writes only into the generation its data belongs to, and a seek (under
/// the fetcher's lock) retires that object and installs a new one carrying the sought position: a late write lands in
/// the retired object, where nothing reads it. The check and the write need not be atomic, so neither a lock nor a
/// compare-exchange is taken per record; the price is one small allocation per seek, pause or hold.</para>
/// <para>Compared by reference: a generation is current when it is the same object as <see cref="PartitionCursor.Generation"/>.</para>
/// </remarks>
internal sealed class CursorGeneration
{
    private long _position;
    private int _leaderEpoch;

    public CursorGeneration(long position, int leaderEpoch = -1)
    {
        _position = position;
        _leaderEpoch = leaderEpoch;
    }

    /// <summary>
    /// The next offset to hand to the application in this generation, or -1 while unknown. Written by the consuming
    /// thread (for data of this generation) and, for the current generation, under the fetcher's lock.
    /// </summary>
    public long Position => Volatile.Read(ref _position);

    /// <summary>
    /// The leader epoch of the last batch consumed before <see cref="Position"/>, or -1 while unknown (a seek, a
    /// looked-up start): committed with the position (KIP-320), so a member starting there can detect a truncation.
    /// Read after <see cref="Position"/>, it is that position's epoch or a later one, never an earlier one (which would
    /// place the position past its epoch's end and make the broker report a divergence that is not there).
    /// </summary>
    public int LeaderEpoch => Volatile.Read(ref _leaderEpoch);

    /// <summary>The consuming thread moves past consumed data, whose last batch had <paramref name="leaderEpoch"/> (-1: keeps the epoch).</summary>
    public void Advance(long position, int leaderEpoch)
    {
        if (leaderEpoch >= 0)
        {
            Volatile.Write(ref _leaderEpoch, leaderEpoch);
        }

        Volatile.Write(ref _position, position);
    }

    /// <summary>Sets the position under the fetcher's lock (a seek, a hold, a looked-up start); a new offset has no known epoch.</summary>
    public void MoveTo(long position)
    {
        if (position != Position)
        {
            MoveTo(position, -1);
        }
    }

    /// <summary>
    /// Sets the position under the fetcher's lock with the leader epoch known for it: where a truncated log diverges,
    /// the epoch the leader named for that offset (KIP-320; the Java client keeps it with the new position).
    /// </summary>
    public void MoveTo(long position, int leaderEpoch)
    {
        Volatile.Write(ref _leaderEpoch, leaderEpoch);
        Volatile.Write(ref _position, position);
    }
}
