using System.Globalization;
using System.Text;

namespace Messaging.Perf;

/// <summary>
/// The records a perf run sends: values, keys and headers, generated once before anything is measured, so the
/// measured loops only index arrays. By default the values are a pool of distinct records larger than any batch (as
/// <c>kafka-producer-perf-test</c>'s payload file): JSON-like text from a seeded generator of words and numbers, so
/// codecs see realistic, non-identical data with a realistic compression ratio — not one value repeated (which every
/// codec shrinks to almost nothing) and not random bytes (which do not compress at all). <c>--payload same</c> reuses
/// the pool's first value for every record.
/// </summary>
/// <remarks>Record <c>i</c> uses value <c>i % ValueCount</c>, key <c>i % KeyCount</c> and header set <c>i % 16</c>;
/// the consume commands use the same indexing to check what they read. All arrays are shared and never written
/// after construction.</remarks>
internal sealed class Payloads
{
    /// <summary>The pool holds at least this many bytes of values (when distinct), far more than one batch or request.</summary>
    private const long PoolBytes = 16L * 1024 * 1024;

    private const int HeaderSets = 16;

    private readonly byte[][] _values;
    private readonly byte[][] _keys;
    private readonly RecordHeader[][] _headers;
    private readonly Confluent.Kafka.Headers?[] _confluentHeaders;

    private Payloads(bool distinct, int valueSize, byte[][] values, byte[][] keys, int headerCount, RecordHeader[][] headers, Confluent.Kafka.Headers?[] confluentHeaders)
    {
        Distinct = distinct;
        ValueSize = valueSize;
        _values = values;
        _keys = keys;
        HeaderCount = headerCount;
        _headers = headers;
        _confluentHeaders = confluentHeaders;
    }

    public bool Distinct { get; }

    /// <summary><c>distinct</c> or <c>same</c>, as the option is spelt (for ratio lines).</summary>
    public string Mode => Distinct ? "distinct" : "same";

    public int ValueSize { get; }

    public int ValueCount => _values.Length;

    /// <summary>Distinct keys; 0 for null keys.</summary>
    public int KeyCount => _keys.Length;

    public int HeaderCount { get; }

    /// <summary>Key plus value plus header bytes of one record (for MB/s and request sizes).</summary>
    public int RecordBytes => ValueSize + (KeyCount == 0 ? 0 : _keys[0].Length) + (HeaderCount * (HeaderKeyLength + HeaderValueLength));

    private const int HeaderKeyLength = 8;   // "header00"
    private const int HeaderValueLength = 16;

    /// <summary>Reads <c>--payload distinct|same</c>, <c>--keys N</c>, <c>--headers N</c> and builds the records of <paramref name="valueSize"/> bytes.</summary>
    public static Payloads FromOptions(CommandLine options, int valueSize)
    {
        var mode = options.String("payload", "distinct");
        var keys = options.Int("keys", 0);
        var headers = options.Int("headers", 0);
        if (mode is not ("distinct" or "same") || keys < 0 || headers < 0 || valueSize < 1 || valueSize > 16 * 1024 * 1024)
        {
            throw new ArgumentException("--payload is distinct|same, --keys and --headers at least 0, --size 1 B to 16 MiB.");
        }

        return Create(mode == "distinct", valueSize, keys, headers);
    }

    public static Payloads Create(bool distinct, int valueSize, int keys, int headers)
    {
        var random = new Random(42);
        var count = distinct ? (int)Math.Clamp((PoolBytes + valueSize - 1) / valueSize, 16, 1 << 20) : 1;
        var values = new byte[count][];
        var text = new StringBuilder(valueSize + 256);
        for (var i = 0; i < count; i++)
        {
            values[i] = JsonLikeText(random, i, valueSize, text);
        }

        var keyArrays = new byte[keys][];
        for (var i = 0; i < keys; i++)
        {
            keyArrays[i] = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"key-{i:D8}"));
        }

        // A few header sets, reused round-robin: distinct enough to be real headers, shared so nothing is built per record.
        var headerSets = new RecordHeader[headers == 0 ? 0 : HeaderSets][];
        var confluentSets = new Confluent.Kafka.Headers?[HeaderSets];
        for (var s = 0; s < headerSets.Length; s++)
        {
            headerSets[s] = new RecordHeader[headers];
            var confluent = new Confluent.Kafka.Headers();
            for (var h = 0; h < headers; h++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"header{h % 100:D2}");
                var value = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Word(random)}-{s:D2}-{h:D4}").PadRight(HeaderValueLength, '.')[..HeaderValueLength]);
                headerSets[s][h] = new RecordHeader(key, value);
                confluent.Add(key, value);
            }

            confluentSets[s] = confluent;
        }

        return new Payloads(distinct, valueSize, values, keyArrays, headers, headerSets, confluentSets);
    }

    /// <summary>The value of record <paramref name="index"/> (shared: never write to it).</summary>
    public byte[] Value(long index) => _values[index % _values.Length];

    /// <summary>The key of record <paramref name="index"/>, or null when the run has no keys.</summary>
    public byte[]? Key(long index) => _keys.Length == 0 ? null : _keys[index % _keys.Length];

    /// <summary>Our headers for record <paramref name="index"/> (empty when the run has none).</summary>
    public RecordHeader[] Headers(long index) => _headers.Length == 0 ? [] : _headers[index % HeaderSets];

    /// <summary>Confluent's headers for record <paramref name="index"/>, or null when the run has none.</summary>
    public Confluent.Kafka.Headers? ConfluentHeaders(long index) => _confluentHeaders[index % HeaderSets];

    /// <summary>For the run's header: what the records look like and how well they compress.</summary>
    public string Describe()
    {
        var sample = (int)Math.Clamp(4L * 1024 * 1024 / ValueSize, 1, 1000); // a few MiB at most: this runs before every run
        long raw = 0;
        long packed = 0;
        using (var buffer = new MemoryStream())
        {
            using (var deflate = new System.IO.Compression.ZLibStream(buffer, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            {
                for (var i = 0; i < sample; i++)
                {
                    var value = Value(i);
                    deflate.Write(value);
                    raw += value.Length;
                }
            }

            packed = buffer.Length;
        }

        var what = Distinct
            ? string.Create(CultureInfo.InvariantCulture, $"distinct: a pool of {_values.Length:N0} seeded JSON-like text values ({(long)_values.Length * ValueSize / 1048576.0:0.0} MiB), record i takes value i mod {_values.Length:N0}")
            : "same: one value reused for every record (codecs see identical records: a best case)";
        return string.Create(CultureInfo.InvariantCulture,
            $"payload {what}; records 0–{sample - 1} compress {(double)raw / Math.Max(1, packed):0.0}:1 together (deflate, as gzip does: for reference); keys {(KeyCount == 0 ? "null" : KeyCount.ToString("N0", CultureInfo.InvariantCulture) + " distinct of " + _keys[0].Length + " B")}; {HeaderCount} header(s) per record");
    }

    /// <summary>
    /// Text like a service's event log line: a JSON object with an id, a timestamp, a user, an event type, tags and a
    /// message of words from a fixed vocabulary, cut or padded to exactly <paramref name="size"/> ASCII bytes.
    /// </summary>
    private static byte[] JsonLikeText(Random random, int index, int size, StringBuilder text)
    {
        text.Clear();
        text.Append(CultureInfo.InvariantCulture, $"{{\"id\":{index},\"ts\":{1_767_225_600_000L + (index * 37L) + random.Next(1000)},\"user\":\"{Word(random)}{random.Next(10_000)}\",");
        text.Append(CultureInfo.InvariantCulture, $"\"event\":\"{Word(random)}.{Word(random)}\",\"tags\":[\"{Word(random)}\",\"{Word(random)}\"],\"amount\":{random.Next(100_000) / 100.0},\"msg\":\"");
        while (text.Length < size)
        {
            text.Append(Word(random)).Append(' ');
        }

        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
        {
            bytes[i] = (byte)text[i];
        }

        if (size >= 2)
        {
            bytes[size - 2] = (byte)'"';
            bytes[size - 1] = (byte)'}';
        }

        return bytes;
    }

    private static readonly string[] Vocabulary = BuildVocabulary();

    /// <summary>A word with a skewed (roughly Zipf-like) frequency, as words are in real text.</summary>
    private static string Word(Random random)
    {
        var r = random.NextDouble();
        return Vocabulary[(int)(r * r * r * Vocabulary.Length)];
    }

    /// <summary>512 pronounceable pseudo-words of 2–4 syllables, the same every run.</summary>
    private static string[] BuildVocabulary()
    {
        string[] syllables = ["ka", "to", "ri", "mu", "sen", "da", "lo", "pe", "vi", "nor", "ga", "shi", "ber", "qu", "el", "an", "tor", "mi", "zu", "ph", "ex", "con", "ta", "ly"];
        var random = new Random(7);
        var words = new string[512];
        for (var i = 0; i < words.Length; i++)
        {
            var word = new StringBuilder();
            var length = 2 + random.Next(3);
            for (var s = 0; s < length; s++)
            {
                word.Append(syllables[random.Next(syllables.Length)]);
            }

            words[i] = word.ToString();
        }

        return words;
    }
}
