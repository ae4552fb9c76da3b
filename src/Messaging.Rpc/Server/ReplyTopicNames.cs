using System.Collections.Concurrent;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// Reply topic names by their UTF-8 header bytes: the producer takes a topic as a string, and the same few reply topics
/// come back on every request, so each is decoded once. Bounded: at <see cref="MaxEntries"/> distinct names the cache
/// starts over, so the names in use then are each decoded once more. Reply topics come and go with their clients (one
/// per client instance with per-instance reply topics): a cache that stopped taking names once full would decode the
/// reply topic of every client started later on every request, for the rest of the server's life.
/// </summary>
internal sealed class ReplyTopicNames
{
    private const int MaxEntries = 1024;

    private readonly ConcurrentDictionary<byte[], string> _names = new(Utf8Comparer.Instance);
    private readonly ConcurrentDictionary<byte[], string>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public ReplyTopicNames() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>
    /// The name, or null when the bytes are not a legal Kafka topic name: 1–249 of <c>a-z A-Z 0-9 . _ -</c>, and neither
    /// <c>.</c> nor <c>..</c> (what the broker accepts; a reply to any other name could only wait for metadata that never comes).
    /// </summary>
    public string? Get(ReadOnlySpan<byte> utf8)
    {
        if (_lookup.TryGetValue(utf8, out var name))
        {
            return name;
        }

        if (!TopicNames.IsLegal(utf8))
        {
            return null;
        }

        name = Encoding.UTF8.GetString(utf8);
        if (_names.Count >= MaxEntries)
        {
            _names.Clear();
        }

        _names.TryAdd(utf8.ToArray(), name);
        return name;
    }

    /// <summary>How many names are cached now.</summary>
    public int Count => _names.Count;

    public void Clear() => _names.Clear();
}
