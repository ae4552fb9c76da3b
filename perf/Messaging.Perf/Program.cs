namespace Messaging.Perf;

/// <summary>The perf CLI: <c>produce</c> and <c>consume</c> commands arrive with the producer and consumer.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: Messaging.Perf <produce|consume> [options] (commands arrive with the producer and consumer issues)");
        return args.Length == 0 ? 2 : 1;
    }
}
