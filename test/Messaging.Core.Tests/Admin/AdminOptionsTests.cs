namespace Messaging.Core.Tests.Admin;

/// <summary>The admin client's own settings are refused naming the one that is wrong, so a configuration error points at its key.</summary>
public sealed class AdminOptionsTests
{
    [Theory]
    [InlineData("DefaultApiTimeout")]
    [InlineData("RetryBackoff")]
    public void A_duration_that_is_not_positive_is_refused_naming_it(string setting)
    {
        var options = new KafkaAdminOptions { BootstrapServers = "broker1.test:9092" };
        if (setting == "RetryBackoff")
        {
            options.RetryBackoff = TimeSpan.Zero;
        }
        else
        {
            options.DefaultApiTimeout = TimeSpan.Zero;
        }

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal(setting, error.ParamName);
        Assert.StartsWith(setting + " (", error.Message, StringComparison.Ordinal);
    }
}
