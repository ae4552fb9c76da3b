using System.Runtime.InteropServices;

namespace Messaging.Rpc;

/// <summary>The scope of <see cref="RpcCallContext.Enter"/>: disposing it restores the previous current call.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct RpcCallScope : IDisposable, IEquatable<RpcCallScope>
{
    private readonly RpcCallContext? _previous;

    internal RpcCallScope(RpcCallContext? previous) => _previous = previous;

    /// <summary>Restores the call that was current before.</summary>
    public void Dispose() => RpcCallContext.Restore(_previous);

    /// <inheritdoc/>
    public bool Equals(RpcCallScope other) => ReferenceEquals(_previous, other._previous);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is RpcCallScope other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _previous?.GetHashCode() ?? 0;

    /// <summary>Whether two scopes restore the same call.</summary>
    public static bool operator ==(RpcCallScope left, RpcCallScope right) => left.Equals(right);

    /// <summary>Whether two scopes restore different calls.</summary>
    public static bool operator !=(RpcCallScope left, RpcCallScope right) => !left.Equals(right);
}
