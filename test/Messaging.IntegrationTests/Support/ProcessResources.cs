namespace Messaging.IntegrationTests.Support;

/// <summary>Counts this process's threads and open file descriptors (Linux /proc), for leak checks.</summary>
internal static class ProcessResources
{
    public static bool Available => OperatingSystem.IsLinux() && Directory.Exists("/proc/self/task");

    public static int Threads() => Directory.GetDirectories("/proc/self/task").Length;

    public static int Sockets()
    {
        var count = 0;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The descriptor closed while we looked: it is not a leak.
            }
        }

        return count;
    }

    public static int FileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;
}
