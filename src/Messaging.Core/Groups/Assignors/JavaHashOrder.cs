namespace Messaging.Groups.Assignors;

/// <summary>
/// The order in which a Java <c>HashMap</c> built by plain <c>put</c>s iterates string keys: by bucket, that is by
/// <c>(h ^ (h &gt;&gt;&gt; 16)) &amp; (capacity - 1)</c> of <c>String.hashCode</c>, with the capacity the map grows to
/// (16, doubled while more than three quarters full).
/// </summary>
/// <remarks>
/// The Java sticky assignor walks its members in this order, and the order decides, for example, which of several
/// members that own more than their share keeps the extra partition. Following it gives the Java client's results for
/// the same group. Keys that share a bucket iterate in insertion order in Java, which depends on how the map was
/// filled; they are ordered ordinally here, so the order is deterministic for every leader.
/// </remarks>
internal static class JavaHashOrder
{
    /// <summary>Sorts <paramref name="keys"/> in place into Java HashMap iteration order.</summary>
    /// <param name="keys">The keys, all distinct.</param>
    public static void Sort(string[] keys)
    {
        int capacity = 16;
        while (keys.Length > capacity / 4 * 3)
        {
            capacity <<= 1;
        }

        var buckets = new int[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            buckets[i] = Bucket(keys[i], capacity);
        }

        Array.Sort(buckets, keys);

        // Array.Sort is not stable: order keys within a bucket ordinally.
        int start = 0;
        while (start < keys.Length)
        {
            int end = start + 1;
            while (end < keys.Length && buckets[end] == buckets[start])
            {
                end++;
            }

            if (end - start > 1)
            {
                Array.Sort(keys, start, end - start, StringComparer.Ordinal);
            }

            start = end;
        }
    }

    /// <summary>Java's <c>String.hashCode</c>: <c>s[0]*31^(n-1) + ... + s[n-1]</c> over UTF-16 code units, wrapping.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The hash.</returns>
    public static int StringHashCode(string value)
    {
        int hash = 0;
        foreach (char c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }

    private static int Bucket(string key, int capacity)
    {
        int h = StringHashCode(key);
        return (h ^ (int)((uint)h >> 16)) & (capacity - 1);
    }
}
