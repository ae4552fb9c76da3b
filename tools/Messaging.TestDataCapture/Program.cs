// Captures record batches that another client wrote, as golden test data for our decoders:
// Confluent.Kafka (librdkafka) produces known records with every codec (and two transactions) to the
// embedded broker, then a raw Fetch built with our own message types reads the stored bytes back.
//
//   dotnet run -c Release --project tools/Messaging.TestDataCapture -- test/Messaging.Core.Tests/TestData/Confluent
//
// For each data set it writes <name>.records.bin (the partition's record data exactly as the broker served it)
// and <name>.expected.json (the records the bytes must decode to). Run it again only to refresh the data.
using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;
using Confluent.Kafka;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.TestDataCapture;

var output = args.Length > 0 ? args[0] : "test/Messaging.Core.Tests/TestData/Confluent";
Directory.CreateDirectory(output);
using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
Console.WriteLine($"librdkafka {EmbeddedKafkaCluster.LibrdkafkaVersion}, embedded broker at {cluster.BootstrapServers}");

foreach (var codec in new[] { CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd })
{
    var name = "codec-" + codec.ToString().ToLowerInvariant();
    cluster.CreateTopic(name, 1);
    var expected = GoldenRecords.Produce(cluster.BootstrapServers, name, codec);
    var data = RawFetch.Records(cluster.BootstrapServers, name, isolationLevel: 0, out _);
    GoldenRecords.Write(output, name, data, expected, codec.ToString().ToLowerInvariant(), []);
}

{
    const string Name = "transactions";
    cluster.CreateTopic(Name, 1);
    var expected = GoldenRecords.ProduceTransactions(cluster.BootstrapServers, Name);
    var data = RawFetch.Records(cluster.BootstrapServers, Name, isolationLevel: 0, out _);
    RawFetch.Records(cluster.BootstrapServers, Name, isolationLevel: 1, out var aborted);
    GoldenRecords.Write(output, Name, data, expected, "none", aborted);
}

return 0;

namespace Messaging.TestDataCapture
{
    /// <summary>One record as the golden data expects it.</summary>
    internal sealed record ExpectedRecord(long Offset, string? Key, string? Value, long Timestamp, ExpectedHeader[] Headers, string? Transaction);

    /// <summary>A header; values are base64, null for a null value.</summary>
    internal sealed record ExpectedHeader(string Key, string? Value);

    /// <summary>An aborted transaction as a read_committed Fetch lists it.</summary>
    internal sealed record ExpectedAbortedTransaction(long ProducerId, long FirstOffset);

    /// <summary>The manifest stored beside the bytes.</summary>
    internal sealed record GoldenManifest(string Producer, string Codec, int RecordDataBytes, ExpectedRecord[] Records, ExpectedAbortedTransaction[] AbortedTransactions);

    internal static class GoldenRecords
    {
        private const int Count = 24;
        private static readonly long BaseTimestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeMilliseconds();

        public static List<ExpectedRecord> Produce(string bootstrap, string topic, Confluent.Kafka.CompressionType codec)
        {
            var records = new List<ExpectedRecord>();
            using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = bootstrap,
                CompressionType = codec,
                EnableIdempotence = true,
                LingerMs = 200, // one batch, or a few: all of them are captured
            }).Build();
            for (var i = 0; i < Count; i++)
            {
                var key = i == 3 ? null : i == 4 ? [] : System.Text.Encoding.UTF8.GetBytes("key-" + i);
                var value = i == 5 ? null : Value(i);
                var headers = new Headers();
                if (i % 2 == 0)
                {
                    headers.Add("h1", System.Text.Encoding.UTF8.GetBytes("v" + i));
                    headers.Add("empty", []);
                }

                if (i % 7 == 0)
                {
                    headers.Add("null", null);
                }

                var timestamp = BaseTimestamp + (i * 1000L) - (i == 9 ? 5000 : 0); // one out-of-order timestamp
                producer.Produce(topic, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers, Timestamp = new Confluent.Kafka.Timestamp(timestamp, Confluent.Kafka.TimestampType.CreateTime) });
                records.Add(new ExpectedRecord(i, B64(key), B64(value), timestamp, ToExpected(headers), null));
            }

            if (producer.Flush(TimeSpan.FromSeconds(30)) != 0)
            {
                throw new InvalidOperationException("records were not delivered");
            }

            return records;
        }

        public static List<ExpectedRecord> ProduceTransactions(string bootstrap, string topic)
        {
            var records = new List<ExpectedRecord>();
            using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
            {
                BootstrapServers = bootstrap,
                TransactionalId = "golden-transactions",
                LingerMs = 5,
            }).Build();
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            long offset = 0;
            foreach (var (outcome, commit) in new[] { ("committed", true), ("aborted", false), ("committed-again", true) })
            {
                producer.BeginTransaction();
                for (var i = 0; i < 2; i++)
                {
                    var value = System.Text.Encoding.UTF8.GetBytes(outcome + "-" + i);
                    var timestamp = BaseTimestamp + offset;
                    producer.Produce(topic, new Message<byte[], byte[]> { Key = [(byte)i], Value = value, Timestamp = new Confluent.Kafka.Timestamp(timestamp, Confluent.Kafka.TimestampType.CreateTime) });
                    records.Add(new ExpectedRecord(offset++, B64([(byte)i]), B64(value), timestamp, [], commit ? "committed" : "aborted"));
                }

                producer.Flush(TimeSpan.FromSeconds(30));
                if (commit)
                {
                    producer.CommitTransaction(TimeSpan.FromSeconds(30));
                }
                else
                {
                    producer.AbortTransaction(TimeSpan.FromSeconds(30));
                }

                offset++; // the control record (commit or abort marker) takes an offset
            }

            return records;
        }

        public static void Write(string folder, string name, byte[] data, List<ExpectedRecord> records, string codec, ExpectedAbortedTransaction[] aborted)
        {
            File.WriteAllBytes(Path.Combine(folder, name + ".records.bin"), data);
            var manifest = new GoldenManifest("librdkafka " + EmbeddedKafkaCluster.LibrdkafkaVersion + " (Confluent.Kafka)", codec, data.Length, [.. records], aborted);
            var json = JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
            File.WriteAllText(Path.Combine(folder, name + ".expected.json"), json + "\n");
            Console.WriteLine($"{name}: {records.Count} records, {data.Length} bytes of record data, {aborted.Length} aborted transaction(s)");
        }

        /// <summary>Values of several shapes: empty, tiny, compressible text, and pseudo-random bytes.</summary>
        private static byte[] Value(int i)
        {
            if (i == 6)
            {
                return [];
            }

            var length = i % 4 == 0 ? 1000 : 10 + (i * 13);
            var value = new byte[length];
            var state = (uint)(i + 1) * 2654435761u;
            for (var j = 0; j < length; j++)
            {
                if (i % 3 == 0)
                {
                    value[j] = (byte)('a' + (j % 26)); // compressible
                }
                else
                {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    value[j] = (byte)state;
                }
            }

            return value;
        }

        private static string? B64(byte[]? value) => value is null ? null : Convert.ToBase64String(value);

        private static ExpectedHeader[] ToExpected(Headers headers)
        {
            var result = new ExpectedHeader[headers.Count];
            for (var i = 0; i < headers.Count; i++)
            {
                result[i] = new ExpectedHeader(headers[i].Key, B64(headers[i].GetValueBytes()));
            }

            return result;
        }
    }

    /// <summary>
    /// Fetches a partition from offset 0 to its high watermark over a plain socket, encoded and decoded with our
    /// message types. The embedded broker answers each Fetch with one batch, so this loops from each batch's next
    /// offset and concatenates what it served.
    /// </summary>
    internal static class RawFetch
    {
        private const short Version = 12; // topic names (v13+ uses topic ids); flexible

        public static byte[] Records(string bootstrap, string topic, sbyte isolationLevel, out ExpectedAbortedTransaction[] aborted)
        {
            var endpoint = bootstrap.Split(',')[0];
            var colon = endpoint.LastIndexOf(':');
            using var client = new TcpClient(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            using var stream = client.GetStream();
            var data = new List<byte>();
            var abortedList = new List<ExpectedAbortedTransaction>();
            long offset = 0;
            for (var round = 1; round < 1000; round++)
            {
                var partition = FetchOnce(stream, topic, offset, isolationLevel, round);
                foreach (var transaction in partition.AbortedTransactions ?? [])
                {
                    var entry = new ExpectedAbortedTransaction(transaction.ProducerId, transaction.FirstOffset);
                    if (!abortedList.Contains(entry))
                    {
                        abortedList.Add(entry);
                    }
                }

                var records = partition.Records ?? ReadOnlyMemory<byte>.Empty;
                var end = isolationLevel == 1 ? partition.LastStableOffset : partition.HighWatermark;
                if (records.IsEmpty)
                {
                    if (offset >= end)
                    {
                        break;
                    }

                    throw new InvalidOperationException($"Fetch of {topic} at {offset} returned nothing before the end ({end}).");
                }

                // Walk the whole batches served and continue after the last one (a partial tail is fetched again).
                var next = offset;
                var consumed = 0;
                var position = 0;
                while (records.Length - position >= 12)
                {
                    var baseOffset = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(records.Span[position..]);
                    var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(records.Span[(position + 8)..]);
                    if (records.Length - position < 12 + length)
                    {
                        break;
                    }

                    var lastOffsetDelta = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(records.Span[(position + 23)..]);
                    next = baseOffset + lastOffsetDelta + 1;
                    position += 12 + length;
                    consumed = position;
                }

                data.AddRange(records.Span[..consumed].ToArray());
                offset = next;
                if (offset >= end)
                {
                    break;
                }
            }

            aborted = [.. abortedList];
            return [.. data];
        }

        private static FetchResponse.PartitionData FetchOnce(NetworkStream stream, string topic, long offset, sbyte isolationLevel, int correlationId)
        {
            var request = new FetchRequest
            {
                MaxWaitMs = 100,
                MinBytes = 1,
                MaxBytes = 16 << 20,
                IsolationLevel = isolationLevel,
                Topics =
                [
                    new FetchRequest.FetchTopic
                    {
                        Topic = topic,
                        Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 16 << 20 }],
                    },
                ],
            };

            var buffer = new ArrayBufferWriter<byte>();
            var writer = new KafkaWriter(buffer);
            var size = writer.ReserveInt32();
            writer.WriteInt16((short)ApiKey.Fetch);
            writer.WriteInt16(Version);
            writer.WriteInt32(correlationId);
            writer.WriteNullableString("golden-capture");
            writer.WriteEmptyTaggedFields(); // request header v2
            request.Write(ref writer, Version);
            writer.WriteReservedInt32(size, writer.BytesSince(size));
            writer.Flush();
            stream.Write(buffer.WrittenSpan);

            var prefix = new byte[4];
            stream.ReadExactly(prefix);
            var frame = new byte[System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(prefix)];
            stream.ReadExactly(frame);
            var reader = new KafkaReader((ReadOnlyMemory<byte>)frame, ProtocolLimits.Default);
            if (reader.ReadInt32("CorrelationId") != correlationId)
            {
                throw new InvalidDataException("wrong correlation id");
            }

            reader.SkipTaggedFields(); // response header v1
            var response = FetchResponse.Read(ref reader, Version);
            var partition = response.Responses[0].Partitions[0];
            if (partition.ErrorCode != Messaging.ErrorCode.None)
            {
                throw new InvalidOperationException($"Fetch of {topic} at {offset} failed: {partition.ErrorCode}");
            }

            return partition;
        }
    }
}
