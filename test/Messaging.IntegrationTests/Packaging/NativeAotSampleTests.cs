using System.Diagnostics;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Packaging;

/// <summary>
/// samples/Messaging.Samples.Aot published with Native AOT and run: the client's default paths (options,
/// serializers, zstd, pools, metrics), a typed RPC call with a source-generated JSON context and a failing one, and the
/// embedded broker work with no JIT and no reflection. The trimming and
/// AOT analyzers already fail the build of Core and Rpc on any warning; this proves the compiled result runs.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class NativeAotSampleTests
{
    [Fact]
    public async Task The_native_aot_sample_round_trips_records()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = Directory.CreateTempSubdirectory("messaging-aot-");
        try
        {
            var project = Path.Combine(RepositoryPaths.Root, "samples", "Messaging.Samples.Aot", "Messaging.Samples.Aot.csproj");
            await DotnetProcess.RunAsync(RepositoryPaths.Root, ["publish", project, "-c", "Release", "-o", output.FullName], ct);
            var executable = Path.Combine(output.FullName, "Messaging.Samples.Aot");
            var run = await DotnetProcess.RunAsync(output.FullName, [], ct, executable);
            Assert.Contains("native AOT round trip OK: 100 records, RPC sku-1 = 10.0 and InvalidArgument (runtime compiled: False)", run, StringComparison.Ordinal);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
