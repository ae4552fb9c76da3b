using Xunit;
using Messaging.Protocol;

namespace Messaging.Core.Tests.Protocol.Generated;

/// <summary>A message type seen through what the generic tests need: random instances, encode, decode, compare.</summary>
internal abstract class MessageCase
{
    protected MessageCase(string name) => Name = name;

    public string Name { get; }

    public abstract short MinVersion { get; }

    public abstract short MaxVersion { get; }

    /// <summary>Encodes a random instance.</summary>
    public abstract byte[] EncodeRandom(Random random, short version);

    /// <summary>Decodes a body and requires every byte to be consumed.</summary>
    public abstract void Decode(ReadOnlyMemory<byte> body, short version, ProtocolLimits limits);

    /// <summary>Random instance → bytes → instance → compare, and bytes again → identical, at every version.</summary>
    public abstract void CheckRoundTripAllVersions(int seed);

    public override string ToString() => Name;
}

/// <inheritdoc/>
internal sealed class MessageCase<T> : MessageCase
    where T : class, IKafkaMessage<T>
{
    private readonly Func<Random, short, T> _create;
    private readonly Action<T, T, string> _assertEqual;

    public MessageCase(string name, Func<Random, short, T> create, Action<T, T, string> assertEqual)
        : base(name)
    {
        _create = create;
        _assertEqual = assertEqual;
    }

    public override short MinVersion => T.MinVersion;

    public override short MaxVersion => T.MaxVersion;

    public T Create(Random random, short version) => _create(random, version);

    public byte[] Encode(T message, short version)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        message.Write(ref writer, version);
        writer.Flush();
        Assert.Equal(output.WrittenCount, writer.BytesWritten);
        return output.WrittenSpan.ToArray();
    }

    public T DecodeAll(ReadOnlyMemory<byte> body, short version, ProtocolLimits limits)
    {
        var reader = new KafkaReader(body, limits);
        T message = T.Read(ref reader, version);
        reader.EnsureEnd();
        return message;
    }

    public override byte[] EncodeRandom(Random random, short version) => Encode(_create(random, version), version);

    public override void Decode(ReadOnlyMemory<byte> body, short version, ProtocolLimits limits) => DecodeAll(body, version, limits);

    public override void CheckRoundTripAllVersions(int seed)
    {
        for (short version = T.MinVersion; version <= T.MaxVersion; version++)
        {
            var random = new Random(HashCode.Combine(seed, version, Name));
            T original = _create(random, version);
            byte[] bytes = Encode(original, version);
            T decoded = DecodeAll(bytes, version, ProtocolLimits.Default);
            _assertEqual(original, decoded, Name + " v" + version);
            byte[] again = Encode(decoded, version);
            Assert.True(bytes.AsSpan().SequenceEqual(again), Name + " v" + version + ": re-encoding the decoded message changed the bytes");
        }
    }
}
