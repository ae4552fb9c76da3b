namespace Messaging.IntegrationTests.Support;

/// <summary>Where the repository is, for tests that read its files (READMEs) or build from it (packages).</summary>
internal static class RepositoryPaths
{
    /// <summary>The nearest directory above the test binaries that holds Messaging.sln.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Messaging.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Messaging.sln not found above " + AppContext.BaseDirectory);
    }
}
