// Deliberate violations the rules must find (see DependencyRulesTests): a lower namespace using a higher one,
// and a use of Core's internals — this test assembly is Core's friend, the RPC layer must not be.
namespace Messaging.Core.Tests.Architecture.Planted.Low
{
    internal static class UsesHigh
    {
        public static int Value() => High.Target.Value() + 1;
    }
}

namespace Messaging.Core.Tests.Architecture.Planted.High
{
    internal static class Target
    {
        public static int Value() => 1;

        public static long UsesInternals() => Messaging.Producer.ProducerSettings.OutcomeSlack.Ticks;
    }
}
