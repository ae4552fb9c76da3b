using Xunit.Sdk;

namespace Messaging.Core.Tests.Protocol.Generated;

/// <summary>Structural comparison with the failing field's path in the message.</summary>
internal static class ProtocolAssert
{
    public static void Equal<T>(T expected, T actual, string path)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new XunitException(path + ": expected <" + expected + "> but got <" + actual + ">");
        }
    }

    public static void Equal(double expected, double actual, string path)
    {
        if (BitConverter.DoubleToInt64Bits(expected) != BitConverter.DoubleToInt64Bits(actual))
        {
            throw new XunitException(path + ": expected " + expected + " but got " + actual);
        }
    }

    public static void Equal(string? expected, string? actual, string path)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new XunitException(path + ": expected " + Show(expected) + " but got " + Show(actual));
        }
    }

    public static void Equal(ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> actual, string path)
    {
        if (!expected.Span.SequenceEqual(actual.Span))
        {
            throw new XunitException(path + ": expected " + Convert.ToHexString(expected.Span) + " but got " + Convert.ToHexString(actual.Span));
        }
    }

    public static void Equal(ReadOnlyMemory<byte>? expected, ReadOnlyMemory<byte>? actual, string path)
    {
        if (expected.HasValue != actual.HasValue)
        {
            throw new XunitException(path + ": expected " + (expected.HasValue ? "bytes" : "null") + " but got " + (actual.HasValue ? "bytes" : "null"));
        }

        if (expected.HasValue)
        {
            Equal(expected.Value, actual!.Value, path);
        }
    }

    public static void Struct<T>(T? expected, T? actual, string path, Action<T, T, string> equal)
        where T : class
    {
        if (expected is null || actual is null)
        {
            if (!ReferenceEquals(expected, actual))
            {
                throw new XunitException(path + ": expected " + (expected is null ? "null" : "a value") + " but got " + (actual is null ? "null" : "a value"));
            }

            return;
        }

        equal(expected, actual, path);
    }

    public static void Array<T>(T[]? expected, T[]? actual, string path, Action<T, T, string> equal)
    {
        if (expected is null || actual is null)
        {
            if (!ReferenceEquals(expected, actual))
            {
                throw new XunitException(path + ": expected " + (expected is null ? "null" : "an array") + " but got " + (actual is null ? "null" : "an array"));
            }

            return;
        }

        if (expected.Length != actual.Length)
        {
            throw new XunitException(path + ": expected " + expected.Length + " elements but got " + actual.Length);
        }

        for (int i = 0; i < expected.Length; i++)
        {
            equal(expected[i], actual[i], path + "[" + i + "]");
        }
    }

    private static string Show(string? s) => s is null ? "null" : "\"" + s + "\"";
}
