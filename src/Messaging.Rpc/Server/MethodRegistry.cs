namespace Messaging.Rpc;

/// <summary>
/// The server's methods by UTF-8 name. Filled before the server starts and only read afterwards (a plain dictionary
/// is safe for concurrent readers), looked up by the pooled header bytes without decoding them. Emptied when the
/// server is disposed: the handlers (and whatever they captured) are the application's, not the disposed server's.
/// </summary>
internal sealed class MethodRegistry
{
    private readonly Dictionary<byte[], RpcMethod> _methods = new(Utf8Comparer.Instance);
    private readonly Dictionary<byte[], RpcMethod>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private volatile bool _frozen;

    public MethodRegistry() => _lookup = _methods.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => _methods.Count;

    /// <exception cref="InvalidOperationException">The server has started, or the method is already registered.</exception>
    public void Add(RpcMethod method)
    {
        if (_frozen)
        {
            throw new InvalidOperationException("Methods must be mapped before the RPC server starts ('" + method.Name + "' was mapped after).");
        }

        if (!_methods.TryAdd(method.NameUtf8, method))
        {
            throw new InvalidOperationException("The RPC method '" + method.Name + "' is already mapped.");
        }
    }

    /// <summary>No more methods from here on (called when the server starts).</summary>
    public void Freeze() => _frozen = true;

    /// <summary>
    /// Drops every method (the server's disposal, once its request loop — the only reader — has stopped). Requests the
    /// drain gave up on still hold their own method; a request read later would find none, and the loop reads no more.
    /// </summary>
    public void Release()
    {
        _frozen = true; // a Map after disposal fails as one after the start does
        _methods.Clear();
    }

    public RpcMethod? Find(ReadOnlySpan<byte> nameUtf8) => _lookup.TryGetValue(nameUtf8, out var method) ? method : null;
}
