using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Connection;

/// <summary>A request that brings its own response-buffer pool (the consumer's Fetch) gets its frame read into one buffer from it.</summary>
public sealed class ResponseBufferPoolTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 30_000)]
    public async Task The_frame_comes_from_the_requests_pool_and_goes_back_to_it_and_a_refusal_uses_the_default_path()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        await using var connection = await BrokerConnection.ConnectAsync(
            BrokerConnectionTests.First(broker.BootstrapServers), BrokerConnectionTests.Settings(broker.BootstrapServers), ct);
        short version = connection.ApiVersions.VersionFor(ApiKey.Metadata);
        var pool = new RecordingPool();

        var frame = await connection.SendAsync(new MetadataRequest(), version, TimeSpan.FromSeconds(10), pool, ct);
        var rented = Assert.Single(pool.Rented);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(frame.Memory, out var segment));
        Assert.Same(rented, segment.Array);
        Assert.Equal(frame.Length, pool.Sizes.Single());
        var metadata = ResponseDecoder.Decode<MetadataResponse>(frame, version, ProtocolLimits.Default);
        Assert.Equal(broker.BrokerCount, metadata.Brokers.Length);
        Assert.Empty(pool.Returned);
        frame.Dispose();
        Assert.Same(rented, Assert.Single(pool.Returned));

        pool.Refuse = true;
        using var fallback = await connection.SendAsync(new MetadataRequest(), version, TimeSpan.FromSeconds(10), pool, ct);
        Assert.Equal(2, pool.Sizes.Count); // asked, refused
        Assert.Single(pool.Rented);
        Assert.Equal(broker.BrokerCount, ResponseDecoder.Decode<MetadataResponse>(fallback, version, ProtocolLimits.Default).Brokers.Length);
    }

    private sealed class RecordingPool : IResponseBufferPool
    {
        public List<byte[]> Rented { get; } = [];

        public List<byte[]> Returned { get; } = [];

        public List<int> Sizes { get; } = [];

        public bool Refuse { get; set; }

        public byte[]? TryRent(int length)
        {
            Sizes.Add(length);
            if (Refuse)
            {
                return null;
            }

            var buffer = new byte[length + 100];
            Rented.Add(buffer);
            return buffer;
        }

        public void Return(byte[] buffer) => Returned.Add(buffer);
    }
}
