using System.Buffers;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// A registered method: its name, its concurrency limit and how many of its requests run now, and how a request's
/// payload becomes a reply payload.
/// </summary>
internal abstract class RpcMethod
{
    private int _running;

    protected RpcMethod(string name, int maxConcurrency, string contentType)
    {
        Name = name;
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        MaxConcurrency = maxConcurrency;
        ContentType = contentType;
        ContentTypeUtf8 = Encoding.UTF8.GetBytes(contentType);
    }

    public string Name { get; }

    public byte[] NameUtf8 { get; }

    /// <summary>The most requests of this method running at once.</summary>
    public int MaxConcurrency { get; }

    /// <summary>The payload format the method reads and writes; a request naming another is refused (InvalidArgument).</summary>
    public string ContentType { get; }

    public byte[] ContentTypeUtf8 { get; }

    /// <summary>True when the method takes a payload of any content type (raw bytes).</summary>
    public virtual bool AcceptsAnyContentType => false;

    /// <summary>Requests of this method admitted and not finished.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Takes a slot if one is free. Only the admitting thread calls this, so check-then-increment cannot overshoot.</summary>
    public bool TryEnter()
    {
        if (Volatile.Read(ref _running) >= MaxConcurrency)
        {
            return false;
        }

        Interlocked.Increment(ref _running);
        return true;
    }

    /// <summary>Gives a slot back (any thread).</summary>
    public void Exit() => Interlocked.Decrement(ref _running);

    /// <summary>
    /// Runs the handler on <paramref name="payload"/> (valid until the returned task completes) and writes the reply
    /// payload to <paramref name="reply"/>. A payload that cannot be decoded throws <see cref="RpcException"/> with
    /// <see cref="RpcStatus.InvalidArgument"/>; anything the handler throws propagates.
    /// </summary>
    public abstract ValueTask InvokeAsync(ReadOnlyMemory<byte> payload, RpcServerContext context, IBufferWriter<byte> reply);
}
