using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// Asks the broker how many records a topic holds (the sum of its partitions' high watermarks), so a run checks
/// that everything a client said it produced was stored — the only check there is for fire-and-forget, where
/// a client reports no per-record outcome. Called between rounds, never while measuring.
/// </summary>
internal sealed class StoredRecords : IAsyncDisposable
{
    private readonly KafkaAdminClient _admin;

    public StoredRecords(string bootstrap) => _admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = bootstrap, ClientId = "perf-probe" });

    /// <summary>The sum of the partitions' high watermarks: every record ever stored, whether or not retention dropped it since.</summary>
    public Task<long> CountAsync(string topic, int partitions, CancellationToken cancellationToken) => SumAsync(topic, partitions, OffsetSpec.Latest, cancellationToken);

    /// <summary>The sum of the partitions' log start offsets: 0 unless the broker dropped old records.</summary>
    public Task<long> DroppedAsync(string topic, int partitions, CancellationToken cancellationToken) => SumAsync(topic, partitions, OffsetSpec.Earliest, cancellationToken);

    private async Task<long> SumAsync(string topic, int partitions, OffsetSpec spec, CancellationToken cancellationToken)
    {
        var queries = new List<KeyValuePair<TopicPartition, OffsetSpec>>(partitions);
        for (var p = 0; p < partitions; p++)
        {
            queries.Add(new KeyValuePair<TopicPartition, OffsetSpec>(new TopicPartition(topic, p), spec));
        }

        var offsets = await _admin.ListOffsetsAsync(queries, cancellationToken: cancellationToken).ConfigureAwait(false);
        long total = 0;
        foreach (var offset in offsets.Values)
        {
            total += offset.Offset;
        }

        return total;
    }

    /// <summary>Throws unless <paramref name="topic"/> holds exactly <paramref name="expected"/> records.</summary>
    public async Task ExpectAsync(string client, string topic, int partitions, long expected, CancellationToken cancellationToken)
    {
        var stored = await CountAsync(topic, partitions, cancellationToken).ConfigureAwait(false);
        if (stored != expected)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{client}: the broker holds {stored} records in {topic}, but {expected} were produced and acknowledged."));
        }
    }

    public ValueTask DisposeAsync() => _admin.DisposeAsync();
}
