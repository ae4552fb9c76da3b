using Messaging.Testing;
using Messaging.Testing.Native;

namespace Messaging.IntegrationTests.EmbeddedBroker;

public sealed class NativeLoadingTests
{
    [Fact]
    public void The_embedded_broker_reports_the_librdkafka_it_runs_on()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        Assert.StartsWith("2.", EmbeddedKafkaCluster.LibrdkafkaVersion, StringComparison.Ordinal);
        Assert.NotNull(EmbeddedKafkaCluster.LibrdkafkaPath);
        Assert.Contains("librdkafka", EmbeddedKafkaCluster.LibrdkafkaPath, StringComparison.Ordinal);
    }

    [Fact]
    public void When_nothing_loads_the_error_lists_every_file_tried_and_why()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "librdkafka.so");
        var notALibrary = Path.GetTempFileName();
        File.WriteAllText(notALibrary, "this is not an ELF file");
        try
        {
            var error = Assert.Throws<LibrdkafkaLoadException>(() => LibrdkafkaLibrary.LoadFirst([missing, notALibrary]));
            Assert.Contains(missing, error.Message, StringComparison.Ordinal);
            Assert.Contains(notALibrary, error.Message, StringComparison.Ordinal);
            Assert.Equal(3, error.Message.Split('\n').Length - CountOtherLines(error.Message)); // one line per attempt
        }
        finally
        {
            File.Delete(notALibrary);
        }
    }

    private static int CountOtherLines(string message)
    {
        var other = 0;
        foreach (var line in message.Split('\n'))
        {
            if (!line.StartsWith("  ", StringComparison.Ordinal))
            {
                other++;
            }
        }

        return other - 1;
    }
}
