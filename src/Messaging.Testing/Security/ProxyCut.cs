namespace Messaging.Testing.Security;

/// <summary>Where a <see cref="ProxyFaults.CutAfterBytes(long)"/> or <see cref="ProxyFaults.CutResponse(ApiKey, int)"/> cut fell: in which frame, and after how many of its bytes.</summary>
public sealed class ProxyCut
{
    internal ProxyCut(bool toBroker, ApiKey apiKey, int frameBytes, int bytesPassed)
    {
        ToBroker = toBroker;
        ApiKey = apiKey;
        FrameBytes = frameBytes;
        BytesPassed = bytesPassed;
    }

    /// <summary>True for a request (client to broker), false for a response.</summary>
    public bool ToBroker { get; }

    /// <summary>The API of the frame (of its request, for a response).</summary>
    public ApiKey ApiKey { get; }

    /// <summary>The frame's length, size prefix included.</summary>
    public int FrameBytes { get; }

    /// <summary>How many of its bytes passed before the cut.</summary>
    public int BytesPassed { get; }

    /// <summary>True when the cut fell strictly inside the frame: some of it passed, not all.</summary>
    public bool IsMidFrame => BytesPassed > 0 && BytesPassed < FrameBytes;

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"{(ToBroker ? "request" : "response")} {ApiKey}: {BytesPassed} of {FrameBytes} bytes passed");
}
