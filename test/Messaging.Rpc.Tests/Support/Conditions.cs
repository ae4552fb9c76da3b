namespace Messaging.Rpc.Tests.Support;

/// <summary>Waiting for a condition with a deadline, instead of sleeping a fixed time.</summary>
internal static class Conditions
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var end = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > end)
            {
                Assert.Fail("Timed out after " + timeout + " waiting until " + what + ".");
            }

            await Task.Delay(5, cancellationToken);
        }
    }
}
