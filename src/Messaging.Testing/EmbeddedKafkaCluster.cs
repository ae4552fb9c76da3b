using System.Globalization;
using Messaging.Testing.Native;

namespace Messaging.Testing;

/// <summary>
/// An in-process Kafka-protocol cluster on loopback: librdkafka's mock cluster, reached through the native
/// library of the librdkafka.redist package. It is the default broker for tests, samples and benchmarks.
/// </summary>
/// <remarks>
/// <para>Brokers are numbered 1 to <see cref="BrokerCount"/>. Each cluster listens on its own ephemeral ports, so
/// several clusters in one process do not interfere. Fault injection wraps the mock's own API.</para>
/// <para>Known limits of the mock, worth knowing before reading a test failure:</para>
/// <list type="bullet">
/// <item>It keeps only about 5 MB or 100,000 batches per partition and silently drops older data (the log start
/// offset moves up), so very long produce runs cannot all be read back.</item>
/// <item>A Fetch that finds no data waits its whole MaxWait: it does not wake up when data arrives (an error found
/// with no data waits too). Give consumers and RPC clients and servers <see cref="RecommendedFetchMaxWait"/> on it, or
/// put a <see cref="Security.KafkaProxy"/> with <see cref="Security.KafkaProxyOptions.AnswerFetchesOnArrival"/> in
/// front of it, which answers a waiting Fetch when records arrive, as Kafka does, so clients keep their own waits.</item>
/// <item>It has no CreateTopics/DeleteTopics API: topics come from <see cref="CreateTopic"/>, or are created
/// automatically (4 partitions) by a Metadata request or a produce to an unknown topic. A
/// <see cref="Security.KafkaProxy"/> started in front of the cluster with
/// <see cref="Security.KafkaProxyOptions.AnswerTopicAdministration"/> answers both APIs with <see cref="CreateTopic"/>
/// and <see cref="DeleteTopic"/>, for clients (an admin client, an RPC client's per-instance reply topic) that create
/// and delete topics themselves.</item>
/// <item>ListOffsets by timestamp is not implemented: it answers offset -1. Earliest and latest work. Metadata
/// reports controller 0, which is no broker, until <see cref="SetControllerId"/> is called.</item>
/// <item>A classic consumer group's sync ends as soon as the leader's SyncGroup brings every member's assignment: a
/// follower whose SyncGroup is read after that gets INVALID_REQUEST and rejoins (Kafka hands it its assignment). When
/// the leader assigns at once and the machine is loaded, the group can cycle through generations for a while before it
/// settles; a test that needs several members stable should allow for it.</item>
/// <item>A rebalance of a classic group that was up (a member joining, rejoining or leaving) waits the session timeout
/// less one second before it elects a leader, even when every member has rejoined (Kafka completes the join once every
/// known member is back): about 5 s per rebalance with 6 s sessions. Tests that rebalance often run faster with short
/// sessions.</item>
/// <item>It speaks a subset of the protocol: ApiVersions only up to v2 (a v3+ request gets an error reply whose
/// array count is one byte), and it must never be sent a compressed client-telemetry push (it hangs).</item>
/// </list>
/// <para>Dispose it to destroy the cluster: its listeners, connections and threads are gone when
/// <see cref="Dispose"/> returns. Disposing twice is harmless; a cluster that is never disposed is destroyed
/// by its finalizer.</para>
/// </remarks>
public sealed unsafe class EmbeddedKafkaCluster : IKafkaFaultInjector, IDisposable, IAsyncDisposable
{
    private readonly MockClusterHandle _handle;
    private readonly Lock _trackingLock = new();

    // librdkafka forgets the recorded requests when tracking stops; we keep what it had at that moment.
    private TrackedRequest[]? _requestsAtStop;

    private EmbeddedKafkaCluster(MockClusterHandle handle, int brokers, string bootstrapServers)
    {
        _handle = handle;
        BrokerCount = brokers;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The brokers' addresses, <c>127.0.0.1:port,...</c>, to give a client as its bootstrap servers.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has; their ids are 1 to this number.</summary>
    public int BrokerCount { get; }

    /// <summary>
    /// The fetch wait to give consumers on this cluster — <c>KafkaConsumerOptions.FetchMaxWait</c>, and the
    /// <c>Consumer.FetchMaxWait</c> of an RPC client or server: 10 ms. The mock answers a Fetch that finds no data only
    /// after its whole wait (it does not wake when records arrive), so the production default of 500 ms — which costs
    /// nothing on Kafka, where a waiting fetch is answered as soon as records come — would add up to half a second to
    /// every hop here. Through a <see cref="Security.KafkaProxy"/> with
    /// <see cref="Security.KafkaProxyOptions.AnswerFetchesOnArrival"/>, clients need no such setting.
    /// </summary>
    public static TimeSpan RecommendedFetchMaxWait { get; } = TimeSpan.FromMilliseconds(10);

    /// <summary>True once the cluster has been disposed.</summary>
    public bool IsDisposed => _handle.IsClosed;

    /// <summary>The version of the librdkafka library that runs the cluster, e.g. <c>2.16.0</c>.</summary>
    public static string LibrdkafkaVersion => Unwrap(static () => MockClusterApi.ReadString(MockClusterApi.VersionString()) ?? "unknown");

    /// <summary>The file the native library was loaded from (after the first cluster started).</summary>
    public static string? LibrdkafkaPath => LibrdkafkaLibrary.LoadedFrom;

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers on loopback.</summary>
    /// <exception cref="ArgumentOutOfRangeException">brokers is not between 1 and 32.</exception>
    /// <exception cref="Native.LibrdkafkaLoadException">No librdkafka native library could be loaded; the message lists every file tried.</exception>
    /// <exception cref="EmbeddedKafkaException">librdkafka could not create the cluster.</exception>
    public static EmbeddedKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokers, 32);
        LibrdkafkaLibrary.Get(); // a load failure surfaces as itself, not as a type-initializer error

        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // The handle only hosts the cluster: keep its own logging to errors.
            ["log_level"] = "3",
            ["client.id"] = "messaging-embedded-broker",
        };
        var handle = Unwrap(() => MockClusterHandle.Create(brokers, settings));
        try
        {
            var bootstraps = MockClusterApi.ReadString(MockClusterApi.ClusterBootstraps(handle.DangerousGetHandle()))
                             ?? throw new EmbeddedKafkaException("The mock cluster reported no bootstrap servers.");
            var cluster = new EmbeddedKafkaCluster(handle, brokers, bootstraps);
            cluster.AdvertiseOnlyDecodableGroupVersions();
            return cluster;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// librdkafka's mock advertises JoinGroup v6, SyncGroup v4 and LeaveGroup v4, but its handlers read those requests'
    /// arrays in the pre-flexible layout (a 4-byte count): a flexible request is misread and the connection closed.
    /// Advertising only the versions it decodes lets every client (ours negotiates down) run consumer groups on it.
    /// </summary>
    private void AdvertiseOnlyDecodableGroupVersions()
    {
        SetApiVersionRange(ApiKey.JoinGroup, 0, 5);
        SetApiVersionRange(ApiKey.SyncGroup, 0, 3);
        SetApiVersionRange(ApiKey.LeaveGroup, 0, 2);
    }

    /// <summary>Creates a topic. Creating a topic that exists fails with <see cref="EmbeddedKafkaException"/>.</summary>
    public void CreateTopic(string name, int partitions = 1, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        Check(CreateTopicNative(name, partitions, replicationFactor), "create topic", name);
    }

    /// <summary>Deletes a topic and its data.</summary>
    public void DeleteTopic(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Check(DeleteTopicNative(name), "delete topic", name);
    }

    /// <summary>
    /// Creates a topic (arguments already checked) and says how it went as Kafka would: TOPIC_ALREADY_EXISTS for a
    /// topic that exists; an error of librdkafka's own (negative) as UNKNOWN_SERVER_ERROR.
    /// </summary>
    internal ErrorCode TryCreateTopic(string name, int partitions, int replicationFactor) => AsKafkaError(CreateTopicNative(name, partitions, replicationFactor));

    /// <summary>Deletes a topic and says how it went as Kafka would: UNKNOWN_TOPIC_OR_PARTITION for one that does not exist.</summary>
    internal ErrorCode TryDeleteTopic(string name) => AsKafkaError(DeleteTopicNative(name));

    // The mock answers with Kafka's own error codes (TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PART); librdkafka's local
    // errors are negative and have no Kafka equivalent.
    private static ErrorCode AsKafkaError(int error) => error >= 0 ? (ErrorCode)error : ErrorCode.UnknownServerError;

    private int CreateTopicNative(string name, int partitions, int replicationFactor)
    {
        var cluster = Enter();
        try
        {
            fixed (byte* topic = MockClusterHandle.Utf8(name))
            {
                return MockClusterApi.TopicCreate(cluster, topic, partitions, replicationFactor);
            }
        }
        finally
        {
            Exit();
        }
    }

    private int DeleteTopicNative(string name)
    {
        var cluster = Enter();
        try
        {
            fixed (byte* topic = MockClusterHandle.Utf8(name))
            {
                return MockClusterApi.TopicDelete(cluster, topic);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Makes every request about <paramref name="topic"/> fail with <paramref name="error"/> until set back to <see cref="ErrorCode.None"/>.</summary>
    public void SetTopicError(string topic, ErrorCode error)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var cluster = Enter();
        try
        {
            fixed (byte* name = MockClusterHandle.Utf8(topic))
            {
                MockClusterApi.TopicSetError(cluster, name, (int)error);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void SetBrokerDown(int brokerId)
    {
        var cluster = Enter();
        try
        {
            Check(MockClusterApi.BrokerSetDown(cluster, brokerId), "set broker down", BrokerName(brokerId));
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void SetBrokerUp(int brokerId)
    {
        var cluster = Enter();
        try
        {
            Check(MockClusterApi.BrokerSetUp(cluster, brokerId), "set broker up", BrokerName(brokerId));
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void SetBrokerRoundTripDelay(int brokerId, TimeSpan delay)
    {
        var milliseconds = ToMilliseconds(delay, nameof(delay));
        var cluster = Enter();
        try
        {
            Check(MockClusterApi.BrokerSetRtt(cluster, brokerId, milliseconds), "set round-trip delay", BrokerName(brokerId));
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void PushRequestErrors(ApiKey apiKey, params ReadOnlySpan<ErrorCode> errors)
    {
        if (errors.IsEmpty)
        {
            return;
        }

        var codes = new int[errors.Length];
        for (var i = 0; i < errors.Length; i++)
        {
            codes[i] = (int)errors[i];
        }

        var cluster = Enter();
        try
        {
            fixed (int* first = codes)
            {
                MockClusterApi.PushRequestErrorsArray(cluster, (short)apiKey, (nuint)codes.Length, first);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void PushBrokerRequestErrors(int brokerId, ApiKey apiKey, params ReadOnlySpan<ErrorCode> errors)
    {
        foreach (var error in errors)
        {
            PushBrokerRequestError(brokerId, apiKey, error, TimeSpan.Zero);
        }
    }

    /// <inheritdoc />
    public void PushBrokerRequestErrors(int brokerId, ApiKey apiKey, params ReadOnlySpan<(ErrorCode Error, TimeSpan Delay)> errors)
    {
        foreach (var (error, delay) in errors)
        {
            PushBrokerRequestError(brokerId, apiKey, error, delay);
        }
    }

    /// <summary>How many errors pushed onto one broker for <paramref name="apiKey"/> are still waiting to be used.</summary>
    public int GetBrokerPendingErrorCount(int brokerId, ApiKey apiKey)
    {
        var cluster = Enter();
        try
        {
            nuint count = 0;
            Check(MockClusterApi.BrokerErrorStackCount(cluster, brokerId, (short)apiKey, &count), "count pushed errors", BrokerName(brokerId));
            return checked((int)count);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void ClearRequestErrors(ApiKey apiKey)
    {
        var cluster = Enter();
        try
        {
            MockClusterApi.ClearRequestErrors(cluster, (short)apiKey);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var cluster = Enter();
        try
        {
            fixed (byte* name = MockClusterHandle.Utf8(topic))
            {
                Check(MockClusterApi.PartitionSetLeader(cluster, name, partition, brokerId), "set partition leader",
                    topic + "/" + partition.ToString(CultureInfo.InvariantCulture) + " -> " + BrokerName(brokerId));
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Sets the replica that consumers are told to fetch from (KIP-392) for a partition.</summary>
    public void SetPartitionPreferredReplica(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var cluster = Enter();
        try
        {
            fixed (byte* name = MockClusterHandle.Utf8(topic))
            {
                Check(MockClusterApi.PartitionSetFollower(cluster, name, partition, brokerId), "set preferred replica",
                    topic + "/" + partition.ToString(CultureInfo.InvariantCulture) + " -> " + BrokerName(brokerId));
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void SetGroupCoordinator(string groupId, int brokerId) => SetCoordinator("group", groupId, brokerId);

    /// <inheritdoc />
    public void SetTransactionCoordinator(string transactionalId, int brokerId) => SetCoordinator("transaction", transactionalId, brokerId);

    /// <summary>Narrows the versions the brokers advertise for one API (e.g. to test version negotiation).</summary>
    public void SetApiVersionRange(ApiKey apiKey, short minVersion, short maxVersion)
    {
        var cluster = Enter();
        try
        {
            Check(MockClusterApi.SetApiVersion(cluster, (short)apiKey, minVersion, maxVersion), "set api version range", apiKey.ToString());
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Sets the controller id Metadata responses report (the mock reports 0, not a broker, until told).</summary>
    public void SetControllerId(int brokerId)
    {
        var cluster = Enter();
        try
        {
            MockClusterApi.SetControllerId(cluster, brokerId);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>How long a new consumer group waits for more members before its first rebalance (the mock's default is 3 s).</summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay)
    {
        var milliseconds = ToMilliseconds(delay, nameof(delay));
        var cluster = Enter();
        try
        {
            MockClusterApi.GroupInitialRebalanceDelay(cluster, milliseconds);
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public void StartRequestTracking()
    {
        lock (_trackingLock)
        {
            var cluster = Enter();
            try
            {
                MockClusterApi.StartRequestTracking(cluster);
                _requestsAtStop = null;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public void StopRequestTracking()
    {
        lock (_trackingLock)
        {
            var recorded = ReadTrackedRequests();
            var cluster = Enter();
            try
            {
                MockClusterApi.StopRequestTracking(cluster);
                _requestsAtStop = recorded;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<TrackedRequest> GetTrackedRequests()
    {
        lock (_trackingLock)
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _requestsAtStop ?? ReadTrackedRequests();
        }
    }

    /// <inheritdoc />
    public void ClearTrackedRequests()
    {
        lock (_trackingLock)
        {
            var cluster = Enter();
            try
            {
                MockClusterApi.ClearRequests(cluster);
                if (_requestsAtStop is not null)
                {
                    _requestsAtStop = [];
                }
            }
            finally
            {
                Exit();
            }
        }
    }

    private TrackedRequest[] ReadTrackedRequests()
    {
        var cluster = Enter();
        try
        {
            nuint count = 0;
            var requests = MockClusterApi.GetRequests(cluster, &count);
            if (requests is null)
            {
                return [];
            }

            // The array and its elements are copies that we own: read them, then free them all.
            try
            {
                var result = new TrackedRequest[checked((int)count)];
                for (var i = 0; i < result.Length; i++)
                {
                    var request = requests[i];
                    result[i] = new TrackedRequest(
                        MockClusterApi.RequestBrokerId(request),
                        (ApiKey)MockClusterApi.RequestApiKey(request),
                        MockClusterApi.RequestTimestamp(request));
                }

                return result;
            }
            finally
            {
                MockClusterApi.RequestDestroyArray(requests, count);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Destroys the cluster: closes its listeners and connections and joins its threads. Idempotent; a call made while
    /// another disposal (or a fault-injection call) is still under way returns once the cluster is destroyed.
    /// </summary>
    public void Dispose()
    {
        _handle.Dispose();
        _handle.Released.GetAwaiter().GetResult();
    }

    /// <summary>Destroys the cluster off the caller's thread (destruction joins native threads). Idempotent, as <see cref="Dispose"/>.</summary>
    public ValueTask DisposeAsync()
    {
        if (_handle.Released.IsCompleted)
        {
            return ValueTask.CompletedTask;
        }

        return new ValueTask(Task.Run(Dispose));
    }

    /// <inheritdoc />
    public override string ToString() =>
        "EmbeddedKafkaCluster(" + BrokerCount.ToString(CultureInfo.InvariantCulture) + " brokers, " + BootstrapServers + ")";

    private void PushBrokerRequestError(int brokerId, ApiKey apiKey, ErrorCode error, TimeSpan delay)
    {
        if (!MockClusterApi.VariadicCallsSupported)
        {
            throw new PlatformNotSupportedException("Per-broker error injection calls a C variadic function, which is not supported on macOS arm64.");
        }

        var milliseconds = ToMilliseconds(delay, nameof(delay));
        var cluster = Enter();
        try
        {
            Check(MockClusterApi.BrokerPushRequestErrorRtt(cluster, brokerId, (short)apiKey, 1, (int)error, milliseconds),
                "push request error", BrokerName(brokerId) + " " + apiKey.ToString());
        }
        finally
        {
            Exit();
        }
    }

    private void SetCoordinator(string keyType, string key, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var cluster = Enter();
        try
        {
            fixed (byte* type = MockClusterHandle.Utf8(keyType))
            fixed (byte* name = MockClusterHandle.Utf8(key))
            {
                Check(MockClusterApi.CoordinatorSet(cluster, type, name, brokerId), "set " + keyType + " coordinator", key + " -> " + BrokerName(brokerId));
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Takes a reference on the native cluster so disposal cannot free it during the call.</summary>
    private nint Enter()
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(EmbeddedKafkaCluster), "The embedded Kafka cluster has been disposed.");
        }

        return _handle.DangerousGetHandle();
    }

    private void Exit() => _handle.DangerousRelease();

    private static string BrokerName(int brokerId) => "broker " + brokerId.ToString(CultureInfo.InvariantCulture);

    private static int ToMilliseconds(TimeSpan delay, string paramName)
    {
        if (delay < TimeSpan.Zero || delay.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, delay, "The delay must be between zero and int.MaxValue milliseconds.");
        }

        return (int)delay.TotalMilliseconds;
    }

    private static void Check(int error, string operation, string subject)
    {
        if (error != 0)
        {
            throw new EmbeddedKafkaException(
                "The embedded Kafka cluster could not " + operation + " (" + subject + "): " + MockClusterApi.ErrorNameOf(error) +
                " (" + error.ToString(CultureInfo.InvariantCulture) + ").");
        }
    }

    /// <summary>Surfaces a failure inside <see cref="MockClusterApi"/>'s type initializer as the load error it is.</summary>
    private static T Unwrap<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (TypeInitializationException ex) when (ex.InnerException is LibrdkafkaLoadException load)
        {
            throw load;
        }
    }
}
