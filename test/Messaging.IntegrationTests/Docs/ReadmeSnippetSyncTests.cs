using System.Text.RegularExpressions;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Docs;

/// <summary>
/// Every code block a README marks with <c>&lt;!-- snippet: name --&gt;</c> is, line for line, the region with that
/// name in one of the test projects' <c>*Snippets.cs</c> files (<see cref="ReadmeSnippets"/>, HostingSnippets) (indentation removed, lines the test adds for its own checks left
/// out), and every region appears in some README. So the samples users copy are the samples the tests compile and run.
/// </summary>
public sealed partial class ReadmeSnippetSyncTests
{
    private const string TestOnlyMarker = "// (the test's own check)";

    [Fact]
    public void Every_marked_readme_block_is_a_compiled_snippet_and_every_snippet_is_shown()
    {
        var root = RepositoryPaths.Root;
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "test"), "*Snippets.cs", SearchOption.AllDirectories))
        {
            foreach (var (name, code) in Regions(File.ReadAllText(file)))
            {
                regions.Add(name, code);
            }
        }

        var readmes = new List<string> { Path.Combine(root, "README.md") };
        readmes.AddRange(Directory.GetFiles(Path.Combine(root, "src"), "README.md", SearchOption.AllDirectories));

        var shown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var readme in readmes)
        {
            foreach (Match block in MarkedBlock().Matches(File.ReadAllText(readme).ReplaceLineEndings("\n")))
            {
                var name = block.Groups["name"].Value;
                Assert.True(regions.TryGetValue(name, out var region), $"{Path.GetRelativePath(root, readme)} shows snippet '{name}', which no *Snippets.cs under test/ has");
                Assert.Equal(region, block.Groups["code"].Value.TrimEnd('\n'));
                shown.Add(name);
            }
        }

        foreach (var name in regions.Keys)
        {
            Assert.True(shown.Contains(name), $"snippet '{name}' is shown in no README");
        }

        Assert.NotEmpty(shown);
    }

    private static Dictionary<string, string> Regions(string source)
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match region in SnippetRegion().Matches(source.ReplaceLineEndings("\n")))
        {
            var lines = region.Groups["code"].Value.TrimEnd('\n').Split('\n').Where(l => !l.TrimEnd().EndsWith(TestOnlyMarker, StringComparison.Ordinal)).ToList();
            var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
            regions.Add(region.Groups["name"].Value, string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())));
        }

        return regions;
    }

    [GeneratedRegex(@"^[ \t]*// snippet: (?<name>[\w-]+)\n(?<code>.*?)^[ \t]*// end snippet", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex SnippetRegion();

    [GeneratedRegex(@"<!-- snippet: (?<name>[\w-]+) -->\n```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex MarkedBlock();
}
