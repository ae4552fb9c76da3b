using Messaging.Consumer;
using Messaging.Groups;
using Microsoft.Extensions.Configuration;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The consumer's group settings: the Java client's defaults, binding from IConfiguration, validation, and assignor names.</summary>
public sealed class GroupOptionsTests
{
    [Fact]
    public void Defaults_are_the_java_clients()
    {
        var options = new KafkaConsumerOptions();
        Assert.Null(options.GroupId);
        Assert.Equal(GroupProtocol.Classic, options.GroupProtocol);
        Assert.Null(options.GroupInstanceId);
        Assert.Equal(TimeSpan.FromSeconds(45), options.SessionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromMinutes(5), options.MaxPollInterval);
        Assert.Null(options.RebalanceTimeout);
        Assert.Equal("range,cooperative-sticky", options.PartitionAssignmentStrategy);
        Assert.Null(options.GroupRemoteAssignor);
        Assert.True(options.EnableAutoCommit);
        Assert.Equal(TimeSpan.FromSeconds(5), options.AutoCommitInterval);
        Assert.True(options.EnableAutoOffsetStore);
    }

    [Fact]
    public void Group_settings_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Consumer:GroupId"] = "orders",
            ["Consumer:GroupProtocol"] = "Consumer",
            ["Consumer:GroupInstanceId"] = "orders-1",
            ["Consumer:SessionTimeout"] = "00:00:10",
            ["Consumer:HeartbeatInterval"] = "00:00:01",
            ["Consumer:MaxPollInterval"] = "00:01:00",
            ["Consumer:RebalanceTimeout"] = "00:00:30",
            ["Consumer:PartitionAssignmentStrategy"] = "cooperative-sticky",
            ["Consumer:GroupRemoteAssignor"] = "uniform",
            ["Consumer:EnableAutoCommit"] = "false",
            ["Consumer:AutoCommitInterval"] = "00:00:02",
            ["Consumer:EnableAutoOffsetStore"] = "false",
        }).Build();
        var options = new KafkaConsumerOptions();
        configuration.GetSection("Consumer").Bind(options);

        Assert.Equal("orders", options.GroupId);
        Assert.Equal(GroupProtocol.Consumer, options.GroupProtocol);
        Assert.Equal("orders-1", options.GroupInstanceId);
        Assert.Equal(TimeSpan.FromSeconds(10), options.SessionTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MaxPollInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RebalanceTimeout);
        Assert.Equal("cooperative-sticky", options.PartitionAssignmentStrategy);
        Assert.Equal("uniform", options.GroupRemoteAssignor);
        Assert.False(options.EnableAutoCommit);
        Assert.Equal(TimeSpan.FromSeconds(2), options.AutoCommitInterval);
        Assert.False(options.EnableAutoOffsetStore);
    }

    public static TheoryData<string, Action<KafkaConsumerOptions>> InvalidSettings => new()
    {
        { "GroupId", o => o.GroupId = "" },
        { "GroupInstanceId", o => o.GroupInstanceId = "" },
        { "GroupProtocol", o => o.GroupProtocol = (GroupProtocol)7 },
        { "SessionTimeout", o => o.SessionTimeout = TimeSpan.Zero },
        { "HeartbeatInterval", o => o.HeartbeatInterval = TimeSpan.FromSeconds(45) },
        { "MaxPollInterval", o => o.MaxPollInterval = TimeSpan.FromMilliseconds(-1) },
        { "RebalanceTimeout", o => o.RebalanceTimeout = TimeSpan.Zero },
        { "AutoCommitInterval", o => o.AutoCommitInterval = TimeSpan.Zero },
        { "GroupRemoteAssignor", o => o.GroupRemoteAssignor = "" },
        { "PartitionAssignmentStrategy", o => o.PartitionAssignmentStrategy = "range,sticky-ish" },
        { "PartitionAssignmentStrategy", o => o.PartitionAssignmentStrategy = " , " },
        { "PartitionAssignmentStrategy", o => o.PartitionAssignmentStrategy = "range,range" },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void An_invalid_group_setting_is_refused_naming_it(string setting, Action<KafkaConsumerOptions> breakIt)
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092" };
        breakIt(options);
        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Contains(setting, error.Message + " " + error.ParamName, StringComparison.Ordinal);
    }

    [Fact]
    public void Assignor_names_resolve_to_fresh_instances_in_the_order_given()
    {
        var first = PartitionAssignors.Resolve(" cooperative-sticky , range,roundrobin", []);
        Assert.Equal(["cooperative-sticky", "range", "roundrobin"], first.Select(a => a.Name));
        Assert.IsType<CooperativeStickyAssignor>(first[0]);
        var second = PartitionAssignors.Resolve("cooperative-sticky", []);
        Assert.NotSame(first[0], second[0]); // assignors keep per-consumer state
    }

    [Fact]
    public void A_custom_assignor_is_used_when_named_and_must_have_a_unique_name()
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092", PartitionAssignmentStrategy = "mine,range" };
        options.CustomPartitionAssignors.Add(() => new NamedAssignor("mine"));
        options.Validate();
        var resolved = PartitionAssignors.Resolve(options.PartitionAssignmentStrategy, options.CustomPartitionAssignors);
        Assert.IsType<NamedAssignor>(resolved[0]);

        options.CustomPartitionAssignors.Add(() => new NamedAssignor("mine"));
        Assert.Throws<ArgumentException>(options.Validate);
    }

    private sealed class NamedAssignor(string name) : IConsumerPartitionAssignor
    {
        public string Name => name;

        public IReadOnlyList<RebalanceProtocol> SupportedProtocols => [RebalanceProtocol.Eager];

        public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics) => null;

        public IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions) =>
            new Dictionary<string, ConsumerAssignment>();

        public void OnAssignment(ConsumerAssignment assignment, int generationId)
        {
        }
    }
}
