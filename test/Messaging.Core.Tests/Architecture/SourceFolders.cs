using System.Text.RegularExpressions;
using Mono.Cecil;

namespace Messaging.Core.Tests.Architecture;

/// <summary>
/// Maps each top-level type of a project to the source folder that declares it. The public surface lives in a few
/// namespaces (<c>Messaging</c>, <c>Messaging.Pools</c>, ...) whatever folder a type sits in, so namespaces no longer
/// show the layers; folders do. The references still come from the compiled IL (<see cref="NamespaceGraph"/>); only
/// "which folder is this type from" is read from the declarations in the sources.
/// </summary>
internal sealed partial class SourceFolders
{
    /// <summary>The name a type declared at the project's root folder maps to.</summary>
    public const string Root = "(root)";

    private readonly Dictionary<string, string> _folderOf;

    private SourceFolders(Dictionary<string, string> folderOf) => _folderOf = folderOf;

    /// <summary>Reads every <c>.cs</c> file under <paramref name="projectDirectory"/> (not bin/obj).</summary>
    public static SourceFolders Read(string projectDirectory)
    {
        var folderOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(projectDirectory, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(projectDirectory, file).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            var ns = FileScopedNamespace().Match(text);
            if (!ns.Success)
            {
                throw new InvalidOperationException($"{relative} has no file-scoped namespace; the layer rule cannot place its types");
            }

            var folder = Path.GetDirectoryName(relative)?.Replace('\\', '/') is { Length: > 0 } dir ? dir : Root;
            foreach (Match declaration in TopLevelDeclaration().Matches(text))
            {
                var name = declaration.Groups["name"].Value;
                var key = ns.Groups[1].Value + "." + name;
                if (folderOf.TryGetValue(key, out var existing) && existing != folder)
                {
                    throw new InvalidOperationException($"{key} is declared in two folders ({existing}, {folder}); the layer rule needs one");
                }

                folderOf[key] = folder;
            }
        }

        return new SourceFolders(folderOf);
    }

    /// <summary>The folder of a top-level type, or "unplaced:&lt;name&gt;" (which no layer lists) when no source declares it.</summary>
    public string FolderOf(TypeReference type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        return _folderOf.TryGetValue(type.Namespace + "." + name, out var folder) ? folder : "unplaced:" + type.FullName;
    }

    /// <summary>The repository's root: the nearest directory above the test binaries that holds Messaging.sln.</summary>
    public static string RepositoryRoot()
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

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex FileScopedNamespace();

    // Top-level declarations start at column 0 under a file-scoped namespace; nested types are indented and map
    // through their declaring type.
    [GeneratedRegex(@"^(?:(?:public|internal|static|sealed|abstract|readonly|partial|unsafe|ref|file)\s+)*(?:(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+(?<name>\w+)|delegate\s+[\w<>\[\]?,. ]+?\s+(?<name>\w+)\s*[<(])", RegexOptions.Multiline)]
    private static partial Regex TopLevelDeclaration();
}
