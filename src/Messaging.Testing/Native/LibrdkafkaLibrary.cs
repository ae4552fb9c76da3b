using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Messaging.Testing.Native;

/// <summary>
/// Finds and loads the native librdkafka that the librdkafka.redist package ships, once per process.
/// </summary>
/// <remarks>
/// The package's plain Linux build (<c>librdkafka.so</c>) links <c>libsasl2.so.3</c>, which a minimal Debian
/// lacks. Like Confluent.Kafka, we try it first and then fall back to the <c>centos8-</c> build (no SASL
/// dependency) on glibc, or the <c>alpine-</c> build on musl, so a fresh machine needs no package install.
/// If Confluent.Kafka loads the same file in the same process, the loader hands back the same image.
/// </remarks>
internal static class LibrdkafkaLibrary
{
    private static readonly Lazy<nint> Handle = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The loaded library's handle; throws <see cref="LibrdkafkaLoadException"/> if nothing loads.</summary>
    public static nint Get() => Handle.Value;

    /// <summary>The path the library was loaded from, for diagnostics.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>Resolves an exported function or throws naming the symbol.</summary>
    public static nint Export(string name)
    {
        if (NativeLibrary.TryGetExport(Get(), name, out var address))
        {
            return address;
        }

        throw new LibrdkafkaLoadException(
            $"The librdkafka loaded from '{LoadedFrom}' does not export '{name}'. " +
            "The embedded broker needs librdkafka 2.x with the mock cluster API (rdkafka_mock.h).");
    }

    private static nint Load() => LoadFirst(Candidates());

    /// <summary>Loads the first candidate that loads; otherwise throws listing every candidate and its failure.</summary>
    internal static nint LoadFirst(IEnumerable<string> candidates)
    {
        var attempts = new StringBuilder();
        Exception? last = null;
        foreach (var candidate in candidates)
        {
            try
            {
                var handle = NativeLibrary.Load(candidate);
                LoadedFrom = candidate;
                return handle;
            }
            catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException)
            {
                last = ex;
                attempts.Append("\n  ").Append(candidate).Append(": ").Append(ex.Message);
            }
        }

        var message = "Could not load librdkafka for the embedded Kafka broker (runtime " +
                      RuntimeInformation.RuntimeIdentifier + "). Tried:" + attempts +
                      "\nThe librdkafka.redist package must be referenced so its runtimes/<rid>/native folder is copied to the output.";
        throw last is null ? new LibrdkafkaLoadException(message) : new LibrdkafkaLoadException(message, last);
    }

    /// <summary>Every file worth trying, most preferred first, in every folder the runtime would search.</summary>
    private static List<string> Candidates()
    {
        var names = FileNames();
        var folders = Folders();
        var result = new List<string>();
        foreach (var folder in folders)
        {
            foreach (var name in names)
            {
                var path = Path.Combine(folder, name);
                if (File.Exists(path) && !result.Contains(path))
                {
                    result.Add(path);
                }
            }
        }

        // Last resort: let the system loader search its own paths by bare name.
        foreach (var name in names)
        {
            result.Add(name);
        }

        return result;
    }

    private static string[] FileNames()
    {
        if (OperatingSystem.IsWindows())
        {
            return ["librdkafka.dll"];
        }

        if (OperatingSystem.IsMacOS())
        {
            return ["librdkafka.dylib"];
        }

        return IsMusl()
            ? ["alpine-librdkafka.so", "librdkafka.so"]
            : ["librdkafka.so", "centos8-librdkafka.so", "centos7-librdkafka.so"];
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000:Avoid accessing Assembly file path when publishing as a single file",
        Justification = "Assembly.Location is empty in a single-file or native AOT app and is skipped then; AppContext.BaseDirectory, tried first, is the app's folder there.")]
    private static List<string> Folders()
    {
        var folders = new List<string>();
        var rid = RuntimeIdentifierFolder();

        // The host lists every folder holding native assets of the app's dependencies (from deps.json).
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirectories)
        {
            foreach (var folder in searchDirectories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                folders.Add(folder);
            }
        }

        foreach (var baseFolder in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(LibrdkafkaLibrary).Assembly.Location) })
        {
            if (string.IsNullOrEmpty(baseFolder))
            {
                continue;
            }

            folders.Add(Path.Combine(baseFolder, "runtimes", rid, "native"));
            folders.Add(baseFolder);
        }

        // A build that did not copy the runtimes folder still finds the package in the NuGet cache.
        var version = typeof(LibrdkafkaLibrary).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "LibrdkafkaRedistVersion")?.Value;
        var nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (version is not null)
        {
            folders.Add(Path.Combine(nugetRoot, "librdkafka.redist", version, "runtimes", rid, "native"));
        }

        return folders;
    }

    private static string RuntimeIdentifierFolder()
    {
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            _ => RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
        };
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return os + "-" + arch;
    }

    private static bool IsMusl()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        // The runtime identifier of a musl build says so; otherwise look for the musl loader.
        return RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal)
               || File.Exists("/lib/ld-musl-x86_64.so.1")
               || File.Exists("/lib/ld-musl-aarch64.so.1");
    }
}
