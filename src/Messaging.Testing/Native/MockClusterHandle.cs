using System.Runtime.InteropServices;

namespace Messaging.Testing.Native;

/// <summary>
/// Owns one librdkafka client handle (<c>rd_kafka_t</c>) and the mock cluster created on it.
/// Releasing destroys the cluster first (it joins the cluster's thread and closes its listeners and
/// client connections), then the client handle (which joins librdkafka's own threads).
/// </summary>
/// <remarks>
/// Being a <see cref="SafeHandle"/>, a cluster is still destroyed if its owner is never disposed, and a
/// fault-injection call racing with disposal holds a reference (DangerousAddRef) so the native cluster
/// cannot be freed under it.
/// </remarks>
internal sealed unsafe class MockClusterHandle : SafeHandle
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private nint _client;

    public MockClusterHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>
    /// Completes once the cluster and the client handle are destroyed. <see cref="SafeHandle.Dispose()"/> returns at once
    /// when another caller is already destroying them, or when a call still holds a reference (the last to let go
    /// destroys them then): this is what to wait for.
    /// </summary>
    public Task Released => _released.Task;

    /// <summary>Creates a client handle and a mock cluster of <paramref name="brokers"/> brokers on it.</summary>
    public static MockClusterHandle Create(int brokers, IReadOnlyDictionary<string, string> clientSettings)
    {
        var result = new MockClusterHandle();
        var errorBuffer = stackalloc byte[512];
        var conf = MockClusterApi.ConfNew();
        try
        {
            foreach (var (name, value) in clientSettings)
            {
                int status;
                fixed (byte* namePtr = Utf8(name))
                fixed (byte* valuePtr = Utf8(value))
                {
                    status = MockClusterApi.ConfSet(conf, namePtr, valuePtr, errorBuffer, 512);
                }

                if (status != MockClusterApi.ConfOk)
                {
                    throw new EmbeddedKafkaException(
                        $"librdkafka rejected the setting {name}={value}: {MockClusterApi.ReadString(errorBuffer)}");
                }
            }

            var client = MockClusterApi.KafkaNew(MockClusterApi.ProducerType, conf, errorBuffer, 512);
            if (client == nint.Zero)
            {
                throw new EmbeddedKafkaException(
                    "librdkafka could not create the client handle the mock cluster runs on: " +
                    MockClusterApi.ReadString(errorBuffer));
            }

            conf = nint.Zero; // rd_kafka_new took ownership of the configuration.
            result._client = client;
            var cluster = MockClusterApi.ClusterNew(client, brokers);
            if (cluster == nint.Zero)
            {
                throw new EmbeddedKafkaException(
                    $"librdkafka could not create a mock cluster of {brokers} broker(s) (no free loopback port, or out of threads).");
            }

            result.SetHandle(cluster);
            return result;
        }
        catch
        {
            if (conf != nint.Zero)
            {
                MockClusterApi.ConfDestroy(conf);
            }

            result.Dispose(); // destroys the client handle if it was created
            throw;
        }
    }

    protected override bool ReleaseHandle()
    {
        try
        {
            if (handle != nint.Zero)
            {
                MockClusterApi.ClusterDestroy(handle);
            }

            ReleaseClient();
        }
        finally
        {
            _released.TrySetResult();
        }

        return true;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);

        // When creation failed before the cluster existed, ReleaseHandle never runs: free the client here.
        if (IsInvalid)
        {
            ReleaseClient();
            _released.TrySetResult();
        }
    }

    private void ReleaseClient()
    {
        var client = Interlocked.Exchange(ref _client, nint.Zero);
        if (client != nint.Zero)
        {
            MockClusterApi.KafkaDestroy(client);
        }
    }

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="value"/>, to pin with <c>fixed</c> for a native call.</summary>
    public static byte[] Utf8(string value)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(value) + 1];
        System.Text.Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
