using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// Checks every record a consumer returns, cheaply enough to run inside the measured loop of both clients: per
/// partition the offsets must follow each other from 0 (nothing skipped, repeated or reordered), and the value must
/// equal, byte for byte, the one produced at that position (record i of the data went to partition i mod P at
/// offset i / P with value i of <see cref="Payloads"/>; comparing runs at memcmp speed). Failures are counted, and
/// the first one described, without throwing on the hot path.
/// </summary>
internal sealed class RecordChecker
{
    private readonly ConsumeSettings _settings;
    private readonly long[] _next;
    private long _failures;
    private string? _first;

    public RecordChecker(ConsumeSettings settings)
    {
        _settings = settings;
        _next = new long[settings.Partitions];
    }

    /// <summary>Starts a pass: every partition is read again from offset 0.</summary>
    public void StartPass() => Array.Clear(_next);

    public void Check(int partition, long offset, ReadOnlySpan<byte> value)
    {
        if ((uint)partition >= (uint)_next.Length)
        {
            Fail(partition, offset, "a partition the topic does not have");
            return;
        }

        ref var next = ref _next[partition];
        if (offset != next)
        {
            Fail(partition, offset, "expected offset " + next.ToString(CultureInfo.InvariantCulture));
        }
        else if (!value.SequenceEqual(_settings.Payloads.Value((offset * _settings.Partitions) + partition)))
        {
            Fail(partition, offset, "its value differs from the one produced there");
        }

        next = offset + 1;
    }

    /// <summary>Ends a pass: every partition must have been read to its last record.</summary>
    public void EndPass()
    {
        for (var p = 0; p < _next.Length; p++)
        {
            if (_next[p] != _settings.RecordsIn(p))
            {
                Fail(p, _next[p], "the partition holds " + _settings.RecordsIn(p).ToString(CultureInfo.InvariantCulture) + " records but the pass ended here");
            }
        }
    }

    /// <summary>Throws if a record failed its check or a pass ended before a partition's end.</summary>
    public void ThrowIfFailed(string client)
    {
        if (_failures > 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{client}: {_failures} record(s) failed their check; the first: {_first}"));
        }
    }

    private void Fail(int partition, long offset, string why)
    {
        if (_failures++ == 0)
        {
            _first = string.Create(CultureInfo.InvariantCulture, $"partition {partition} offset {offset}: {why}");
        }
    }
}
