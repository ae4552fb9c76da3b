using System.Globalization;
using Messaging.Admin;

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

    public async Task<long> CountAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        var queries = new List<KeyValuePair<TopicPartition, OffsetSpec>>(partitions);
        for (var p = 0; p < partitions; p++)
        {
            queries.Add(new KeyValuePair<TopicPartition, OffsetSpec>(new TopicPartition(topic, p), OffsetSpec.Latest));
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
