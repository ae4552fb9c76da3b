using System.Runtime.InteropServices;

namespace Messaging.Testing.Native;

/// <summary>
/// Function pointers into librdkafka's client-handle and mock-cluster API (rdkafka.h, rdkafka_mock.h),
/// resolved once from the library <see cref="LibrdkafkaLibrary"/> loaded.
/// </summary>
/// <remarks>
/// A few mock functions are C variadics (<c>...</c>). They are called here with a fixed argument list of
/// one (error, rtt) tuple, which on the System V x64 and Linux AArch64 ABIs passes integer varargs exactly
/// like fixed arguments. Windows x64 passes varargs like fixed arguments too. Apple's AArch64 ABI does
/// not, so those calls throw <see cref="PlatformNotSupportedException"/> there.
/// </remarks>
internal static unsafe class MockClusterApi
{
    public const int ProducerType = 0; // RD_KAFKA_PRODUCER
    public const int ConfOk = 0;        // RD_KAFKA_CONF_OK

    public static readonly delegate* unmanaged<nint> ConfNew =
        (delegate* unmanaged<nint>)LibrdkafkaLibrary.Export("rd_kafka_conf_new");

    public static readonly delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int> ConfSet =
        (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)LibrdkafkaLibrary.Export("rd_kafka_conf_set");

    public static readonly delegate* unmanaged<nint, void> ConfDestroy =
        (delegate* unmanaged<nint, void>)LibrdkafkaLibrary.Export("rd_kafka_conf_destroy");

    public static readonly delegate* unmanaged<int, nint, byte*, nuint, nint> KafkaNew =
        (delegate* unmanaged<int, nint, byte*, nuint, nint>)LibrdkafkaLibrary.Export("rd_kafka_new");

    public static readonly delegate* unmanaged<nint, void> KafkaDestroy =
        (delegate* unmanaged<nint, void>)LibrdkafkaLibrary.Export("rd_kafka_destroy");

    public static readonly delegate* unmanaged<byte*> VersionString =
        (delegate* unmanaged<byte*>)LibrdkafkaLibrary.Export("rd_kafka_version_str");

    public static readonly delegate* unmanaged<int, byte*> ErrorName =
        (delegate* unmanaged<int, byte*>)LibrdkafkaLibrary.Export("rd_kafka_err2name");

    public static readonly delegate* unmanaged<nint, int, nint> ClusterNew =
        (delegate* unmanaged<nint, int, nint>)LibrdkafkaLibrary.Export("rd_kafka_mock_cluster_new");

    public static readonly delegate* unmanaged<nint, void> ClusterDestroy =
        (delegate* unmanaged<nint, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_cluster_destroy");

    public static readonly delegate* unmanaged<nint, byte*> ClusterBootstraps =
        (delegate* unmanaged<nint, byte*>)LibrdkafkaLibrary.Export("rd_kafka_mock_cluster_bootstraps");

    public static readonly delegate* unmanaged<nint, byte*, int, int, int> TopicCreate =
        (delegate* unmanaged<nint, byte*, int, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_topic_create");

    public static readonly delegate* unmanaged<nint, byte*, int> TopicDelete =
        (delegate* unmanaged<nint, byte*, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_topic_delete");

    public static readonly delegate* unmanaged<nint, byte*, int, void> TopicSetError =
        (delegate* unmanaged<nint, byte*, int, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_topic_set_error");

    public static readonly delegate* unmanaged<nint, int, int> BrokerSetDown =
        (delegate* unmanaged<nint, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_broker_set_down");

    public static readonly delegate* unmanaged<nint, int, int> BrokerSetUp =
        (delegate* unmanaged<nint, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_broker_set_up");

    public static readonly delegate* unmanaged<nint, int, int, int> BrokerSetRtt =
        (delegate* unmanaged<nint, int, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_broker_set_rtt");

    public static readonly delegate* unmanaged<nint, short, nuint, int*, void> PushRequestErrorsArray =
        (delegate* unmanaged<nint, short, nuint, int*, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_push_request_errors_array");

    public static readonly delegate* unmanaged<nint, short, void> ClearRequestErrors =
        (delegate* unmanaged<nint, short, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_clear_request_errors");

    // Variadic in C: (mcluster, broker_id, ApiKey, cnt, err1, rtt1, ...). Called with cnt = 1.
    public static readonly delegate* unmanaged<nint, int, short, nuint, int, int, int> BrokerPushRequestErrorRtt =
        (delegate* unmanaged<nint, int, short, nuint, int, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_broker_push_request_error_rtts");

    public static readonly delegate* unmanaged<nint, int, short, nuint*, int> BrokerErrorStackCount =
        (delegate* unmanaged<nint, int, short, nuint*, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_broker_error_stack_cnt");

    public static readonly delegate* unmanaged<nint, byte*, int, int, int> PartitionSetLeader =
        (delegate* unmanaged<nint, byte*, int, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_partition_set_leader");

    public static readonly delegate* unmanaged<nint, byte*, int, int, int> PartitionSetFollower =
        (delegate* unmanaged<nint, byte*, int, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_partition_set_follower");

    public static readonly delegate* unmanaged<nint, byte*, byte*, int, int> CoordinatorSet =
        (delegate* unmanaged<nint, byte*, byte*, int, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_coordinator_set");

    public static readonly delegate* unmanaged<nint, short, short, short, int> SetApiVersion =
        (delegate* unmanaged<nint, short, short, short, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_set_apiversion");

    public static readonly delegate* unmanaged<nint, int, void> SetControllerId =
        (delegate* unmanaged<nint, int, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_set_controller_id");

    public static readonly delegate* unmanaged<nint, int, void> GroupInitialRebalanceDelay =
        (delegate* unmanaged<nint, int, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_group_initial_rebalance_delay_ms");

    public static readonly delegate* unmanaged<nint, void> StartRequestTracking =
        (delegate* unmanaged<nint, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_start_request_tracking");

    public static readonly delegate* unmanaged<nint, void> StopRequestTracking =
        (delegate* unmanaged<nint, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_stop_request_tracking");

    public static readonly delegate* unmanaged<nint, nuint*, nint*> GetRequests =
        (delegate* unmanaged<nint, nuint*, nint*>)LibrdkafkaLibrary.Export("rd_kafka_mock_get_requests");

    public static readonly delegate* unmanaged<nint, void> ClearRequests =
        (delegate* unmanaged<nint, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_clear_requests");

    public static readonly delegate* unmanaged<nint, int> RequestBrokerId =
        (delegate* unmanaged<nint, int>)LibrdkafkaLibrary.Export("rd_kafka_mock_request_id");

    public static readonly delegate* unmanaged<nint, short> RequestApiKey =
        (delegate* unmanaged<nint, short>)LibrdkafkaLibrary.Export("rd_kafka_mock_request_api_key");

    public static readonly delegate* unmanaged<nint, long> RequestTimestamp =
        (delegate* unmanaged<nint, long>)LibrdkafkaLibrary.Export("rd_kafka_mock_request_timestamp");

    public static readonly delegate* unmanaged<nint*, nuint, void> RequestDestroyArray =
        (delegate* unmanaged<nint*, nuint, void>)LibrdkafkaLibrary.Export("rd_kafka_mock_request_destroy_array");

    /// <summary>True where calling a C variadic with fixed integer arguments is safe (see remarks).</summary>
    public static bool VariadicCallsSupported =>
        !(OperatingSystem.IsMacOS() && RuntimeInformation.ProcessArchitecture == Architecture.Arm64);

    /// <summary>Reads a NUL-terminated UTF-8 string owned by librdkafka.</summary>
    public static string? ReadString(byte* value) => value is null ? null : Marshal.PtrToStringUTF8((nint)value);

    /// <summary>The librdkafka name of an error code, e.g. <c>NOT_LEADER_OR_FOLLOWER</c> or <c>_TRANSPORT</c>.</summary>
    public static string ErrorNameOf(int error) => ReadString(ErrorName(error)) ?? error.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
