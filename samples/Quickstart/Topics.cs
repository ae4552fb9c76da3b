namespace Messaging.Samples.Quickstart;

/// <summary>Creates the request topic on a real Kafka (the client creates its reply topic itself).</summary>
internal static class Topics
{
    public static async Task EnsureAsync(string bootstrap, string topic, int partitions)
    {
        await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = bootstrap });
        try
        {
            await admin.CreateTopicsAsync([new NewTopic(topic, partitions)]);
        }
        catch (KafkaAdminException ex) when (ex.Errors.TryGetValue(topic, out var error) && error is KafkaErrorException { Code: ErrorCode.TopicAlreadyExists })
        {
            // Created by an earlier run.
        }
    }
}
