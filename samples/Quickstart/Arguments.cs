namespace Messaging.Samples.Quickstart;

/// <summary>The command line: <c>--bootstrap host:port</c> for a real Kafka; none for the embedded broker.</summary>
internal static class Arguments
{
    public static string? Bootstrap(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--bootstrap" && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--bootstrap=", StringComparison.Ordinal))
            {
                return args[i]["--bootstrap=".Length..];
            }
        }

        return null;
    }
}
