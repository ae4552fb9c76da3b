using System.Diagnostics;
using Messaging.Core.Tests.Protocol.Generated;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

/// <summary>
/// Whatever the bytes, a decoder either returns a message or throws <see cref="KafkaProtocolException"/>: never
/// another exception type, never a hang, never a huge allocation.
/// </summary>
public sealed class DecoderRobustnessTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    public static TheoryData<string> Messages()
    {
        var data = new TheoryData<string>();
        foreach (MessageCase c in MessageCatalog.All)
        {
            data.Add(c.Name);
        }

        return data;
    }

    private static MessageCase Find(string name)
    {
        foreach (MessageCase c in MessageCatalog.All)
        {
            if (c.Name == name)
            {
                return c;
            }
        }

        throw new ArgumentException(name);
    }

    /// <summary>Decodes; returns whether it succeeded; fails the test on any other exception type or a slow decode.</summary>
    private static bool DecodeOnlyThrowsProtocolException(MessageCase c, byte[] input, short version, string what)
    {
        var limits = new ProtocolLimits { MaxArrayCount = 10_000, MaxBytesLength = 1 << 20 };
        var watch = Stopwatch.StartNew();
        try
        {
            c.Decode(input, version, limits);
            return true;
        }
        catch (KafkaProtocolException)
        {
            return false;
        }
        catch (Exception e)
        {
            Assert.Fail(c.Name + " v" + version + " (" + what + ", input " + Convert.ToHexString(input) + ") threw " + e.GetType().Name + ": " + e.Message);
            return false;
        }
        finally
        {
            Assert.True(watch.Elapsed < Bound, c.Name + " v" + version + " took " + watch.Elapsed + " on " + what);
        }
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Random_bytes_only_ever_throw_KafkaProtocolException(string name)
    {
        MessageCase c = Find(name);
        var random = new Random(name.Length * 7919);
        for (short version = c.MinVersion; version <= c.MaxVersion; version++)
        {
            for (int i = 0; i < 300; i++)
            {
                var input = new byte[random.Next(0, 200)];
                random.NextBytes(input);
                if (random.Next(3) == 0)
                {
                    // Small values make plausible counts and lengths, so decoding gets further in.
                    for (int j = 0; j < input.Length; j++)
                    {
                        input[j] &= 0x07;
                    }
                }

                _ = DecodeOnlyThrowsProtocolException(c, input, version, "random bytes");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_truncation_of_a_valid_encoding_throws_KafkaProtocolException(string name)
    {
        MessageCase c = Find(name);
        var random = new Random(name.Length * 104729);
        for (short version = c.MinVersion; version <= c.MaxVersion; version++)
        {
            for (int i = 0; i < 5; i++)
            {
                byte[] valid = c.EncodeRandom(random, version);
                Assert.True(DecodeOnlyThrowsProtocolException(c, valid, version, "the valid encoding"));
                for (int length = 0; length < valid.Length; length++)
                {
                    bool decoded = DecodeOnlyThrowsProtocolException(c, valid[..length], version, "truncated to " + length);
                    Assert.False(decoded, c.Name + " v" + version + " accepted a truncation to " + length + " of " + valid.Length + " bytes");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Mutated_lengths_and_bytes_only_ever_throw_KafkaProtocolException(string name)
    {
        MessageCase c = Find(name);
        var random = new Random(name.Length * 15485863);
        byte[][] hostile =
        [
            [0x7F, 0xFF, 0xFF, 0xFF], // int32 max
            [0xFF, 0xFF, 0xFF, 0xFF], // -1 / uvarint continuation
            [0x80, 0x00, 0x00, 0x00], // int32 min
            [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], // uvarint 2^32-1
            [0xFE, 0xFF, 0xFF, 0xFF, 0x07], // uvarint 2^31-2
            [0x00],
            [0xFF, 0xFF],
        ];
        for (short version = c.MinVersion; version <= c.MaxVersion; version++)
        {
            for (int i = 0; i < 40; i++)
            {
                byte[] valid = c.EncodeRandom(random, version);
                if (valid.Length == 0)
                {
                    continue;
                }

                for (int j = 0; j < 10; j++)
                {
                    byte[] mutated = (byte[])valid.Clone();
                    int at = random.Next(mutated.Length);
                    if (random.Next(2) == 0)
                    {
                        byte[] pattern = hostile[random.Next(hostile.Length)];
                        pattern.AsSpan(0, Math.Min(pattern.Length, mutated.Length - at)).CopyTo(mutated.AsSpan(at));
                    }
                    else
                    {
                        mutated[at] ^= (byte)(1 << random.Next(8));
                    }

                    _ = DecodeOnlyThrowsProtocolException(c, mutated, version, "mutated at " + at);
                }
            }
        }
    }

    [Fact]
    public void Two_gigabyte_records_length_in_a_fetch_response_does_not_allocate()
    {
        var response = new FetchResponse
        {
            Responses = [new FetchResponse.FetchableTopicResponse { Partitions = [new FetchResponse.PartitionData { Records = new byte[] { 0xA1, 0xA2, 0xA3 } }] }],
        };
        byte[] valid = MessageCatalog.FetchResponse.Encode(response, 12);
        string hex = Convert.ToHexString(valid);
        int at = hex.IndexOf("04A1A2A3", StringComparison.Ordinal);
        Assert.True(at >= 0);
        byte[] hostile = Convert.FromHexString(hex[..at] + "FFFFFFFF07" + hex[(at + 2)..]); // compact length 2^31-2

        Attempt(hostile);
        long before = GC.GetAllocatedBytesForCurrentThread();
        KafkaProtocolException e = Attempt(hostile);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("PartitionData.Records", e.FieldName);
        Assert.True(allocated < 64 * 1024, "allocated " + allocated + " bytes");

        static KafkaProtocolException Attempt(byte[] input)
        {
            try
            {
                var reader = new KafkaReader(input.AsSpan()); // span-backed: a bytes field would be copied if accepted
                _ = FetchResponse.Read(ref reader, 12);
            }
            catch (KafkaProtocolException e)
            {
                return e;
            }

            Assert.Fail("accepted a 2 GB records length");
            return null!;
        }
    }

    [Fact]
    public void Huge_array_count_in_a_metadata_response_is_rejected_before_allocating()
    {
        // MetadataResponse v12: throttle, then Brokers as a compact array claiming 2^31-2 elements.
        byte[] hostile = Convert.FromHexString("00000000" + "FFFFFFFF07" + "00");
        long before = GC.GetAllocatedBytesForCurrentThread();
        KafkaProtocolException e = Assert.Throws<KafkaProtocolException>(() =>
        {
            var reader = new KafkaReader(hostile.AsMemory());
            _ = MetadataResponse.Read(ref reader, 12);
        });
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
        Assert.Equal("MetadataResponse", e.MessageName);
        Assert.Equal("Brokers", e.FieldName);
        Assert.Equal(4, e.Offset);
    }
}
