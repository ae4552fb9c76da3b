using System.Text;

namespace Messaging.Rpc;

/// <summary>Where this client's replies go, as requests name it: the reply topic and partition header values, encoded once.</summary>
internal sealed class ReplyRoute
{
    public ReplyRoute(string topic, int partition)
    {
        Topic = topic;
        Partition = partition;
        TopicBytes = Encoding.UTF8.GetBytes(topic);
        PartitionBytes = partition >= 0 ? RpcWire.EncodeInt32(partition) : null;
    }

    public string Topic { get; }

    /// <summary>The partition requests name, or -1 for none (the replier places replies by key).</summary>
    public int Partition { get; }

    public byte[] TopicBytes { get; }

    /// <summary>The partition header value, or null when requests carry none.</summary>
    public byte[]? PartitionBytes { get; }
}
