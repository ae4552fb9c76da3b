using System.Buffers;
using System.IO.Compression;
using Messaging.Compression;

namespace Messaging.Core.Tests.Compression;

/// <summary>Shared inputs and helpers for the codec tests.</summary>
internal static class CodecTestData
{
    public static readonly CompressionType[] Codecs = [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    /// <summary>Compressible text-like bytes.</summary>
    public static byte[] Compressible(int length, int seed = 1)
    {
        var random = new Random(seed);
        var words = new[] { "kafka"u8.ToArray(), "record"u8.ToArray(), "batch"u8.ToArray(), "offset"u8.ToArray(), " "u8.ToArray(), "{\"id\":"u8.ToArray() };
        var data = new byte[length];
        int p = 0;
        while (p < length)
        {
            byte[] w = words[random.Next(words.Length)];
            int n = Math.Min(w.Length, length - p);
            w.AsSpan(0, n).CopyTo(data.AsSpan(p));
            p += n;
            if (p < length && random.Next(8) == 0)
            {
                data[p++] = (byte)random.Next(256);
            }
        }

        return data;
    }

    public static byte[] RandomBytes(int length, int seed = 2)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static byte[] Compress(CompressionType type, ReadOnlySpan<byte> data, int? level = null)
    {
        var writer = new ArrayBufferWriter<byte>();
        ICompressionCodec codec = CompressionCodecs.Get(type);
        int n = codec.Compress(data, writer, level ?? codec.DefaultLevel);
        if (n != writer.WrittenCount)
        {
            throw new InvalidOperationException("Compress returned a different count than it wrote.");
        }

        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Decompress(CompressionType type, ReadOnlySpan<byte> data, int limit = int.MaxValue)
    {
        var writer = new ArrayBufferWriter<byte>();
        int n = CompressionCodecs.Get(type).Decompress(data, writer, limit, 0);
        if (n != writer.WrittenCount)
        {
            throw new InvalidOperationException("Decompress returned a different count than it wrote.");
        }

        return writer.WrittenSpan.ToArray();
    }

    private static readonly Lazy<byte[]> ZerosGzip = new(() => Bomb(CompressionType.Gzip));
    private static readonly Lazy<byte[]> ZerosSnappyRaw = new(() => Bomb(CompressionType.Snappy));
    private static readonly Lazy<byte[]> ZerosSnappyXerial = new(() =>
    {
        var writer = new ArrayBufferWriter<byte>();
        SnappyCodec.CompressXerial(new byte[BombSize], writer);
        return writer.WrittenSpan.ToArray();
    });

    private static readonly Lazy<byte[]> ZerosLz4 = new(() => Bomb(CompressionType.Lz4));
    private static readonly Lazy<byte[]> ZerosZstdWithSize = new(() => Bomb(CompressionType.Zstd));
    private static readonly Lazy<byte[]> ZerosZstdStreamed = new(() =>
    {
        // The Java client streams zstd, so its frames carry no content size.
        var output = new MemoryStream();
        using (var z = new ZstdSharp.CompressionStream(output, 3, leaveOpen: true))
        {
            var chunk = new byte[1 << 20];
            for (int i = 0; i < BombSize / chunk.Length; i++)
            {
                z.Write(chunk);
            }
        }

        return output.ToArray();
    });

    public const int BombSize = 100 * 1024 * 1024;

    public static byte[] GetBomb(string name) => name switch
    {
        "gzip" => ZerosGzip.Value,
        "snappy" => ZerosSnappyRaw.Value,
        "snappy-xerial" => ZerosSnappyXerial.Value,
        "lz4" => ZerosLz4.Value,
        "zstd" => ZerosZstdWithSize.Value,
        "zstd-streamed" => ZerosZstdStreamed.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static CompressionType BombCodec(string name) => name switch
    {
        "gzip" => CompressionType.Gzip,
        "snappy" or "snappy-xerial" => CompressionType.Snappy,
        "lz4" => CompressionType.Lz4,
        _ => CompressionType.Zstd,
    };

    private static byte[] Bomb(CompressionType type)
    {
        if (type == CompressionType.Gzip)
        {
            var output = new MemoryStream();
            using (var gz = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var chunk = new byte[1 << 20];
                for (int i = 0; i < BombSize / chunk.Length; i++)
                {
                    gz.Write(chunk);
                }
            }

            return output.ToArray();
        }

        return Compress(type, new byte[BombSize]);
    }
}
