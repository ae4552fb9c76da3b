namespace Messaging.Rpc;

/// <summary>
/// The outcome of a call: gRPC's status codes, with the same numbers, so that a reply's status header means the same
/// thing to a peer in any language. A reply without a status header is <see cref="Ok"/>.
/// </summary>
public enum RpcStatus
{
    /// <summary>The call succeeded.</summary>
    Ok = 0,

    /// <summary>The caller cancelled the call.</summary>
    Cancelled = 1,

    /// <summary>An error that fits no other status (for example a status number this client does not know).</summary>
    Unknown = 2,

    /// <summary>The request was malformed: the server could not decode it, or rejected its content.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline passed before a reply arrived (or before the server ran the handler).</summary>
    DeadlineExceeded = 4,

    /// <summary>Something the request named was not found.</summary>
    NotFound = 5,

    /// <summary>Something the request would create already exists.</summary>
    AlreadyExists = 6,

    /// <summary>The caller may not do this.</summary>
    PermissionDenied = 7,

    /// <summary>A limit was reached: too many pending calls or bytes, or a request larger than allowed.</summary>
    ResourceExhausted = 8,

    /// <summary>The system is not in a state the operation needs.</summary>
    FailedPrecondition = 9,

    /// <summary>The operation was aborted (a concurrency conflict, for example).</summary>
    Aborted = 10,

    /// <summary>A value was outside its valid range.</summary>
    OutOfRange = 11,

    /// <summary>The server has no handler for the method.</summary>
    Unimplemented = 12,

    /// <summary>The server failed while handling the request, or the reply could not be decoded.</summary>
    Internal = 13,

    /// <summary>The service cannot be reached: the request topic does not exist, the request could not be sent, or the client was disposed.</summary>
    Unavailable = 14,

    /// <summary>Data was lost or corrupted.</summary>
    DataLoss = 15,

    /// <summary>The caller is not authenticated.</summary>
    Unauthenticated = 16,
}
