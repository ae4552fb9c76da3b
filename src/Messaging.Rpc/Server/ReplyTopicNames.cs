using System.Collections.Concurrent;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// Reply topic names by their UTF-8 header bytes: the producer takes a topic as a string, and the same few reply topics
/// come back on every request, so each is decoded once. Bounded: past <see cref="MaxEntries"/> distinct names (a
/// misbehaving caller), further ones are decoded per request rather than cached.
/// </summary>
internal sealed class ReplyTopicNames
{
    private const int MaxEntries = 1024;

    private readonly ConcurrentDictionary<byte[], string> _names = new(Utf8Comparer.Instance);
    private readonly ConcurrentDictionary<byte[], string>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public ReplyTopicNames() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>The name, or null when the bytes are not a valid topic name (empty, or not UTF-8).</summary>
    public string? Get(ReadOnlySpan<byte> utf8)
    {
        if (_lookup.TryGetValue(utf8, out var name))
        {
            return name;
        }

        if (utf8.IsEmpty || utf8.Length > 249 || !System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return null;
        }

        name = Encoding.UTF8.GetString(utf8);
        if (_names.Count < MaxEntries)
        {
            _names.TryAdd(utf8.ToArray(), name);
        }

        return name;
    }

    public void Clear() => _names.Clear();
}
