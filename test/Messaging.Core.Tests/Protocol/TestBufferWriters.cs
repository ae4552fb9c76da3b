using System.Buffers;

namespace Messaging.Core.Tests.Protocol;

/// <summary>
/// An IBufferWriter that hands out exactly the size asked for in a fresh array each time and keeps the committed
/// chunks separately, so every span boundary is exercised and a write through a stale span is lost (and noticed).
/// </summary>
internal sealed class ChunkedBufferWriter : IBufferWriter<byte>
{
    private readonly List<byte[]> _chunks = [];
    private byte[]? _current;

    public int GetSpanCalls { get; private set; }

    public void Advance(int count)
    {
        if (_current is null || count > _current.Length)
        {
            throw new InvalidOperationException("Advance past the span handed out.");
        }

        _chunks.Add(_current[..count]);
        _current = null;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        GetSpanCalls++;
        _current = new byte[Math.Max(sizeHint, 1)];
        return _current;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public byte[] ToArray()
    {
        var all = new List<byte>();
        foreach (byte[] chunk in _chunks)
        {
            all.AddRange(chunk);
        }

        return [.. all];
    }
}
