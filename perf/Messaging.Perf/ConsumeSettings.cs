using CompressionType = Messaging.CompressionType;

namespace Messaging.Perf;

/// <summary>What a <c>consume</c> run reads and how: the same for every client.</summary>
/// <param name="Path">typed (our ConsumeAsync against Confluent's typed Consume: like for like), batch (our zero-copy ConsumeBatchAsync) or raw.</param>
/// <param name="Passes">Times the data is read per round, seeking back to the start between passes.</param>
/// <param name="Group">Read through a group subscription (one member, a fresh group id per run) instead of assigning the partitions.</param>
internal sealed record ConsumeSettings(int Messages, Payloads Payloads, int Partitions, CompressionType Compression, int FetchWaitMs, string Path, int MaxPollRecords, int Passes,
    string ConfluentProfile, bool Group = false, PerfSecurity? Security = null)
{
    /// <summary>The assignor both clients name when they read through a group (one member: it gets every partition either way).</summary>
    public const string GroupAssignor = "range";

    /// <summary>How the partitions are read, for headers and ratio lines.</summary>
    public string ReadLabel => Group ? "subscribe(one-member-group,assignor=" + GroupAssignor + ",join-excluded)" : "assign";

    /// <summary>Records read per round.</summary>
    public long Total => (long)Messages * Passes;

    public string Codec => Compression.ToString().ToLowerInvariant();

    /// <summary>Both clients' API on this path, as the ratio line names it.</summary>
    public string ApiLabel => Path switch
    {
        "typed" => "ConsumeAsync<Ignore,byte[]>/Consume<Ignore,byte[]>",
        "batch" => "ConsumeBatchAsync(zero-copy-batches)/Consume(per-record,typed)",
        _ => "ConsumeRawAsync(pooled-records)/Consume(per-record,typed)",
    };

    /// <summary>Records of partition <paramref name="partition"/>: record i of the data goes to partition i mod Partitions.</summary>
    public long RecordsIn(int partition) => (Messages - partition + Partitions - 1) / Partitions;
}
