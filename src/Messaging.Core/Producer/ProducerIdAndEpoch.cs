namespace Messaging.Producer;

/// <summary>A producer id and epoch, as InitProducerId returned them (or as a local epoch bump made them).</summary>
/// <param name="ProducerId">The producer id, or -1.</param>
/// <param name="Epoch">The epoch, or -1.</param>
internal readonly record struct ProducerIdAndEpoch(long ProducerId, short Epoch)
{
    public static readonly ProducerIdAndEpoch None = new(-1, -1);

    public bool IsValid => ProducerId >= 0 && Epoch >= 0;
}
