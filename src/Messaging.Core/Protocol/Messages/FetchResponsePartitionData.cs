namespace Messaging.Protocol.Messages;

internal sealed partial class FetchResponse
{
    public sealed partial class PartitionData
    {
        /// <summary>
        /// True when the leader answered with a diverging epoch (KIP-320): the log fetched is not its log past that
        /// epoch's end offset. Reads the field without allocating its default.
        /// </summary>
        internal bool HasDivergingEpoch => _divergingEpoch is { } diverging && !diverging.IsDefaultValue();
    }
}
