namespace Messaging.Core.Tests.Support;

/// <summary>
/// Tests that measure allocations on paths using the process-wide codec pools (a zstd decompressor, compressors): run
/// alone, because a parallel test holding the pooled instances makes the measured thread create its own — an
/// allocation of the test run, not of the code (seen as 176 bytes in every round on a loaded CI machine).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedCodecPoolsCollection
{
    public const string Name = "Allocation measurements over the shared codec pools";
}
