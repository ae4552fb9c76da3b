using Messaging.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Hosting;

/// <summary>The deserializer of a hosted consumer's key or value type: one registered in DI, else a built-in one.</summary>
internal static class DefaultDeserializers
{
    public static IDeserializer<T>? Find<T>(IServiceProvider provider) => provider.GetService<IDeserializer<T>>() ?? BuiltIn<T>();

    public static bool Exists<T>(IServiceProviderIsService services) => services.IsService(typeof(IDeserializer<T>)) || BuiltIn<T>() is not null;

    /// <summary>The built-in deserializer for <typeparamref name="T"/> (byte[], string, int, long, double, Ignore), or null.</summary>
    private static IDeserializer<T>? BuiltIn<T>()
    {
        // Nullable annotations are not runtime types: IDeserializer<string?> is an IDeserializer<string>.
        object? found = typeof(T) == typeof(byte[]) ? Deserializers.ByteArray
            : typeof(T) == typeof(string) ? Deserializers.Utf8
            : typeof(T) == typeof(int) ? Deserializers.Int32
            : typeof(T) == typeof(long) ? Deserializers.Int64
            : typeof(T) == typeof(double) ? Deserializers.Double
            : typeof(T) == typeof(Ignore) ? Deserializers.Ignore
            : null;
        return found as IDeserializer<T>;
    }
}
