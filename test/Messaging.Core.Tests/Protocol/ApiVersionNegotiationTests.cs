using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class ApiVersionNegotiationTests
{
    private static ApiVersionsResponse Broker(params (ApiKey Key, short Min, short Max)[] apis)
    {
        var entries = new ApiVersionsResponse.ApiVersion[apis.Length];
        for (int i = 0; i < apis.Length; i++)
        {
            entries[i] = new ApiVersionsResponse.ApiVersion { ApiKey = apis[i].Key, MinVersion = apis[i].Min, MaxVersion = apis[i].Max };
        }

        return new ApiVersionsResponse { ApiKeys = entries };
    }

    [Fact]
    public void Picks_the_highest_version_both_sides_support()
    {
        NegotiatedApiVersions table = ApiVersionNegotiation.Negotiate(Broker(
            (ApiKey.Produce, 0, 10), // broker older than us: 10
            (ApiKey.Fetch, 4, 20), // broker newer than us: our max 17
            (ApiKey.Metadata, 0, 12)));
        Assert.Equal(10, table.VersionFor(ApiKey.Produce));
        Assert.Equal(17, table.VersionFor(ApiKey.Fetch));
        Assert.Equal(12, table.VersionFor(ApiKey.Metadata));
        Assert.True(table.TryGetVersion(ApiKey.Fetch, out short fetch));
        Assert.Equal(17, fetch);
    }

    [Fact]
    public void Broker_too_old_is_reported_with_both_ranges()
    {
        NegotiatedApiVersions table = ApiVersionNegotiation.Negotiate(Broker((ApiKey.Produce, 3, 8)));
        Assert.False(table.TryGetVersion(ApiKey.Produce, out _));
        UnsupportedApiVersionException e = Assert.Throws<UnsupportedApiVersionException>(() => table.VersionFor(ApiKey.Produce));
        Assert.Equal(ApiKey.Produce, e.ApiKey);
        Assert.Equal((short)9, e.ClientMinVersion);
        Assert.Equal((short)11, e.ClientMaxVersion);
        Assert.Equal((short)3, e.BrokerMinVersion);
        Assert.Equal((short)8, e.BrokerMaxVersion);
        Assert.Equal("The broker supports Produce (API key 0) only at versions 3 to 8, but this client implements versions 9 to 11; the ranges do not overlap.", e.Message);
    }

    [Fact]
    public void Missing_api_is_reported()
    {
        NegotiatedApiVersions table = ApiVersionNegotiation.Negotiate(Broker((ApiKey.Metadata, 0, 12)));
        UnsupportedApiVersionException e = Assert.Throws<UnsupportedApiVersionException>(() => table.VersionFor(ApiKey.InitProducerId));
        Assert.Null(e.BrokerMinVersion);
        Assert.Contains("does not offer InitProducerId (API key 22)", e.Message, StringComparison.Ordinal);
        Assert.Throws<UnsupportedApiVersionException>(() => table.EnsureSupported([ApiKey.Metadata, ApiKey.Produce]));
        table.EnsureSupported([ApiKey.Metadata]);
    }

    [Fact]
    public void Broker_minimum_above_our_maximum_is_unusable()
    {
        var ours = new[] { new ApiVersionRange(ApiKey.Heartbeat, 4, 4, 4) };
        NegotiatedApiVersions table = ApiVersionNegotiation.Negotiate(Broker((ApiKey.Heartbeat, 5, 9)), ours);
        Assert.Throws<UnsupportedApiVersionException>(() => table.VersionFor(ApiKey.Heartbeat));
    }

    [Fact]
    public void Api_we_do_not_implement_is_an_argument_error()
    {
        NegotiatedApiVersions table = ApiVersionNegotiation.Negotiate(Broker((ApiKey.DescribeAcls, 0, 3)));
        Assert.Throws<ArgumentException>(() => table.VersionFor(ApiKey.DescribeAcls));
    }

    [Fact]
    public void Error_response_must_be_handled_first()
    {
        ApiVersionsResponse response = Broker((ApiKey.ApiVersions, 0, 3));
        response.ErrorCode = ErrorCode.UnsupportedVersion;
        Assert.Throws<ArgumentException>(() => ApiVersionNegotiation.Negotiate(response));
    }

    [Fact]
    public void Supported_table_matches_the_generated_types()
    {
        Assert.Equal(18, SupportedApis.All.Count);
        foreach (ApiVersionRange range in SupportedApis.All)
        {
            Assert.True(range.MinVersion <= range.MaxVersion);
        }

        Assert.Contains(new ApiVersionRange(ApiKey.Produce, ProduceRequest.MinVersion, ProduceRequest.MaxVersion, 9), SupportedApis.All);
        Assert.Contains(new ApiVersionRange(ApiKey.ApiVersions, 0, 4, 3), SupportedApis.All);
        Assert.Contains(new ApiVersionRange(ApiKey.SaslHandshake, 1, 1, -1), SupportedApis.All);

        // Group membership keeps its pre-flexible versions (older coordinators, librdkafka's mock).
        Assert.Contains(new ApiVersionRange(ApiKey.JoinGroup, 2, 9, 6), SupportedApis.All);
        Assert.Contains(new ApiVersionRange(ApiKey.FindCoordinator, 1, 6, 3), SupportedApis.All);
        Assert.Contains(new ApiVersionRange(ApiKey.ConsumerGroupHeartbeat, 0, 1, 0), SupportedApis.All);
    }
}
