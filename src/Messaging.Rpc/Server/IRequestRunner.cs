namespace Messaging.Rpc;

/// <summary>What runs an admitted request: processes it (handler and reply), then finishes it (offset, limits, record).</summary>
internal interface IRequestRunner
{
    /// <summary>Handles the request and sends its reply; never throws.</summary>
    ValueTask ProcessAsync(ServerRequest request);

    /// <summary>Marks the request's offset done, gives back its slots, recycles its record and returns it to the pool.</summary>
    void Finish(ServerRequest request);
}
