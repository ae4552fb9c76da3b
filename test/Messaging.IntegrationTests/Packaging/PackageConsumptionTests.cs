using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Packaging;

/// <summary>
/// What a new user does first: add the packages to a fresh console project and run a produce/consume round trip.
/// The packages are packed from this build (no rebuild) under a version unique to the run into a temporary folder,
/// restored from there (nuget.org for their dependencies) into a project outside the repository, so nothing of the
/// repository's build settings helps it; the run's packages are removed from the NuGet cache afterwards.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class PackageConsumptionTests
{
    private static readonly string[] Packages = ["Messaging.Core", "Messaging.Rpc", "Messaging.Testing", "Messaging.Hosting"]; // Hosting depends on Rpc (AddRpcClient)

    [Fact]
    public async Task A_fresh_console_project_restores_the_packages_and_round_trips_records()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = RepositoryPaths.Root;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var version = "0.0.0-packtest." + Guid.NewGuid().ToString("N")[..12];
        var work = Directory.CreateTempSubdirectory("messaging-packtest-");
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            foreach (var project in Packages)
            {
                await DotnetProcess.RunAsync(root, ["pack", Path.Combine(root, "src", project, project + ".csproj"), "-c", configuration, "--no-build", "-o", feed, "-p:Version=" + version], ct);
            }

            var app = Directory.CreateDirectory(Path.Combine(work.FullName, "app")).FullName;
            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>
                """, ct);
            await File.WriteAllTextAsync(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Messaging.Core" Version="{version}" />
                    <PackageReference Include="Messaging.Testing" Version="{version}" />
                    <PackageReference Include="Messaging.Hosting" Version="{version}" />
                    <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.12" />
                  </ItemGroup>
                </Project>
                """, ct);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
                using Messaging;
                using Messaging.Testing;
                using Microsoft.Extensions.Configuration;
                using Microsoft.Extensions.DependencyInjection;
                using Microsoft.Extensions.Hosting;

                await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
                cluster.CreateTopic("greetings", partitions: 1);
                await using (var producer = new KafkaProducer<string, string>(
                    new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }, Serializers.Utf8, Serializers.Utf8))
                {
                    for (var i = 0; i < 10; i++)
                    {
                        await producer.ProduceAsync("greetings", "k" + i, "hello " + i);
                    }
                }

                await using var consumer = new KafkaConsumer<string?, string?>(
                    new KafkaConsumerOptions { BootstrapServers = cluster.BootstrapServers }, Deserializers.Utf8, Deserializers.Utf8);
                consumer.Assign([new TopicPartitionOffset("greetings", 0, OffsetSpec.Earliest)]);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var received = 0;
                await foreach (var record in consumer.ConsumeAsync(deadline.Token))
                {
                    if (record.Value != "hello " + received)
                    {
                        Console.WriteLine($"unexpected record {record.Value} at {record.Offset}");
                        return 1;
                    }

                    if (++received == 10)
                    {
                        break;
                    }
                }

                Console.WriteLine($"round trip OK: {received} records");

                // The same records again, through the hosting package: a consumer registered from configuration,
                // reading as a group member and committing.
                var builder = Host.CreateApplicationBuilder();
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Kafka:Consumer:BootstrapServers"] = cluster.BootstrapServers,
                    ["Kafka:Consumer:GroupId"] = "greeters",
                    ["Kafka:Consumer:AutoOffsetReset"] = "Earliest",
                });
                builder.Services.AddKafkaConsumer(builder.Configuration.GetSection("Kafka:Consumer"));
                using var host = builder.Build();
                await host.StartAsync(deadline.Token);
                var member = host.Services.GetRequiredService<IKafkaConsumer>();
                member.Subscribe(["greetings"]);
                var grouped = 0;
                await foreach (var record in member.ConsumeRawAsync(deadline.Token))
                {
                    record.Recycle();
                    if (++grouped == 10)
                    {
                        break;
                    }
                }

                await member.CommitAsync(deadline.Token);
                var committed = await member.CommittedAsync([new TopicPartition("greetings", 0)], deadline.Token);
                Console.WriteLine($"group through hosting OK: {grouped} records, committed {committed[0].Offset}");
                await host.StopAsync(deadline.Token);
                return 0;
                """, ct);

            var output = await DotnetProcess.RunAsync(app, ["run", "-c", "Release"], ct);
            Assert.Contains("round trip OK: 10 records", output, StringComparison.Ordinal);
            Assert.Contains("group through hosting OK: 10 records, committed 10", output, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
                ? configured
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            foreach (var project in Packages)
            {
                var id = project.ToLowerInvariant();
                var cached = new DirectoryInfo(Path.Combine(cache, id, version));
                if (cached.Exists)
                {
                    cached.Delete(recursive: true);
                }
            }
        }
    }
}
