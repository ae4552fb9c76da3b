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

    public CursorGeneration(long position)
    {
        _position = position;
    }

    /// <summary>
    /// The next offset to hand to the application in this generation, or -1 while unknown. Written by the consuming
    /// thread (for data of this generation) and, for the current generation, under the fetcher's lock.
    /// </summary>
    public long Position
    {
        get => Volatile.Read(ref _position);
        set => Volatile.Write(ref _position, value);
    }
}
