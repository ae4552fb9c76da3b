using System.Text;
using Messaging.Security;
using Microsoft.Extensions.Configuration;

namespace Messaging.Core.Tests.Security;

/// <summary>Security options: binding from configuration, validation, secrets kept out of ToString, and the OAUTHBEARER token cache.</summary>
public sealed class SecurityOptionsTests
{
    [Fact]
    public void Security_settings_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "broker:9093",
            ["Kafka:SecurityProtocol"] = "SaslSsl",
            ["Kafka:Sasl:Mechanism"] = "ScramSha512",
            ["Kafka:Sasl:Username"] = "orders",
            ["Kafka:Sasl:Password"] = "s3cret",
            ["Kafka:Ssl:CaLocation"] = "/etc/kafka/ca.pem",
            ["Kafka:Ssl:DangerousAcceptAnyServerName"] = "true",
        }).Build();
        var options = new KafkaProducerOptions();
        configuration.GetSection("Kafka").Bind(options);

        Assert.Equal(SecurityProtocol.SaslSsl, options.SecurityProtocol);
        Assert.Equal(SaslMechanism.ScramSha512, options.Sasl.Mechanism);
        Assert.Equal("SCRAM-SHA-512", options.Sasl.MechanismName);
        Assert.Equal("orders", options.Sasl.Username);
        Assert.Equal("/etc/kafka/ca.pem", options.Ssl.CaLocation);
        Assert.True(options.Ssl.DangerousAcceptAnyServerName);
    }

    [Fact]
    public void ToString_never_shows_a_password_or_token()
    {
        var sasl = new SaslOptions { Mechanism = SaslMechanism.Plain, Username = "orders", Password = "s3cret" };
        Assert.Contains("orders", sasl.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", sasl.ToString(), StringComparison.Ordinal);
        var ssl = new SslOptions { KeyPem = "-----BEGIN PRIVATE KEY-----abc", CertificatePem = "cert", KeyPassword = "keypass", KeystorePassword = "storepass" };
        Assert.DoesNotContain("abc", ssl.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("keypass", ssl.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("storepass", ssl.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("tok3n", new OAuthBearerToken("tok3n", DateTimeOffset.UtcNow.AddHours(1)).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_names_what_is_missing_for_the_chosen_protocol()
    {
        var options = new KafkaClientOptions { BootstrapServers = "b:9092", SecurityProtocol = SecurityProtocol.SaslPlaintext };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("sasl.username", error.Message, StringComparison.Ordinal);

        options.Sasl = new SaslOptions { Mechanism = SaslMechanism.OAuthBearer };
        Assert.Contains("OAuthBearerTokenProvider", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);

        options.SecurityProtocol = SecurityProtocol.Ssl; // SASL settings are not needed for SSL alone
        options.Validate();
        options.Ssl = new SslOptions { KeyPem = "key" };
        Assert.Contains("KeyPem needs", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);

        options.SecurityProtocol = SecurityProtocol.Plaintext; // nor TLS settings for plaintext
        options.Validate();
    }

    [Fact]
    public async Task Plain_sends_an_empty_authorization_id_then_user_and_password()
    {
        var ct = TestContext.Current.CancellationToken;
        var mechanism = new PlainMechanism("orders", "s3cret");
        Assert.DoesNotContain("s3cret", mechanism.ToString(), StringComparison.Ordinal);
        using var exchange = mechanism.CreateExchange(new SaslExchangeContext("h", 1, "b"));
        Assert.Equal("\0orders\0s3cret", Encoding.UTF8.GetString((await exchange.StartAsync(ct)).Span));
        Assert.Null(await exchange.ContinueAsync(ReadOnlyMemory<byte>.Empty, ct));
    }

    [Fact]
    public async Task Oauthbearer_sends_the_token_with_extensions_and_answers_an_error_document_with_one_separator()
    {
        var ct = TestContext.Current.CancellationToken;
        var token = new OAuthBearerToken("eyJ.x.y", DateTimeOffset.UtcNow.AddHours(1), new Dictionary<string, string> { ["logicalCluster"] = "lkc-1" });
        var mechanism = new OAuthBearerMechanism(new OAuthBearerTokenCache(_ => ValueTask.FromResult(token), TimeProvider.System));
        using var exchange = mechanism.CreateExchange(new SaslExchangeContext("h", 1, "b"));
        Assert.Equal("n,,\u0001auth=Bearer eyJ.x.y\u0001logicalCluster=lkc-1\u0001\u0001", Encoding.UTF8.GetString((await exchange.StartAsync(ct)).Span));
        var answer = await exchange.ContinueAsync("{\"status\":\"invalid_token\"}"u8.ToArray(), ct);
        Assert.Equal([1], answer!.Value.ToArray());
    }

    [Fact]
    public async Task The_token_is_fetched_once_and_again_after_eighty_percent_of_its_lifetime()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var issued = 0;
        var cache = new OAuthBearerTokenCache(_ =>
        {
            issued++;
            return ValueTask.FromResult(new OAuthBearerToken("t" + issued, clock.GetUtcNow().AddMinutes(10)));
        }, clock);

        var first = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => cache.GetAsync(ct).AsTask()));
        Assert.All(first, t => Assert.Equal("t1", t.Value)); // concurrent connections share one fetch
        clock.Advance(TimeSpan.FromMinutes(7.9));
        Assert.Equal("t1", (await cache.GetAsync(ct)).Value);
        clock.Advance(TimeSpan.FromMinutes(0.2)); // past 80% of ten minutes
        Assert.Equal("t2", (await cache.GetAsync(ct)).Value);
        Assert.Equal(2, cache.Fetches);
    }

    [Theory]
    [InlineData("auth", "x")] // reserved for the token itself: a second auth= would present another token
    [InlineData("logical-cluster", "lkc-1")] // RFC 7628 (and Kafka): a key is letters only
    [InlineData("logicalCluster", "lkc-1\u0001auth=Bearer other")] // the separator would end the pair and start another
    [InlineData("logicalCluster", "")]
    public void An_extension_that_would_not_survive_the_oauthbearer_message_is_refused(string key, string value)
    {
        var error = Assert.Throws<ArgumentException>(() => new OAuthBearerToken("eyJ.x.y", DateTimeOffset.UtcNow.AddHours(1), new Dictionary<string, string> { [key] = value }));
        Assert.DoesNotContain("eyJ.x.y", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_holding_the_message_separator_is_refused_and_extensions_are_copied()
    {
        Assert.Throws<ArgumentException>(() => new OAuthBearerToken("eyJ.x.y\u0001auth=Bearer other", DateTimeOffset.UtcNow.AddHours(1)));
        var extensions = new Dictionary<string, string> { ["logicalCluster"] = "lkc-1" };
        var token = new OAuthBearerToken("eyJ.x.y", DateTimeOffset.UtcNow.AddHours(1), extensions);
        extensions["logicalCluster"] = "lkc\u0001evil";
        Assert.Equal("lkc-1", token.Extensions["logicalCluster"]);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_provider_call_that_hangs_is_abandoned_once_no_connection_waits_for_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var firstCallCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var cache = new OAuthBearerTokenCache(async cancellationToken =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                // An identity provider call that never answers (a dead TCP connection, no HTTP timeout) until cancelled.
                using var registration = cancellationToken.Register(() => firstCallCancelled.TrySetResult());
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return new OAuthBearerToken("t" + Volatile.Read(ref calls), DateTimeOffset.UtcNow.AddHours(1));
        }, TimeProvider.System);

        // The connection waiting for it gives up (its setup timeout): the call is cancelled...
        using (var setupTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var waiting = cache.GetAsync(setupTimeout.Token).AsTask();
            while (Volatile.Read(ref calls) == 0)
            {
                await Task.Yield();
            }

            await setupTimeout.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        }

        await firstCallCancelled.Task.WaitAsync(ct);

        // ...and the next connection asks the provider again instead of waiting on the hung call for ever.
        Assert.Equal("t2", (await cache.GetAsync(ct)).Value);
    }

    [Fact]
    public async Task A_refresh_that_fails_keeps_presenting_the_token_until_it_expires()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var calls = 0;
        var down = false;
        var cache = new OAuthBearerTokenCache(_ =>
        {
            calls++;
            return down
                ? throw new HttpRequestException("idp down")
                : ValueTask.FromResult(new OAuthBearerToken("t" + calls, clock.GetUtcNow().AddMinutes(10)));
        }, clock);

        Assert.Equal("t1", (await cache.GetAsync(ct)).Value);
        down = true;
        clock.Advance(TimeSpan.FromMinutes(9)); // past the refresh point, a minute before the token expires

        // The identity provider is down, but the token still is valid: connections (and re-authentications) use it.
        Assert.Equal("t1", (await cache.GetAsync(ct)).Value);
        Assert.Equal(2, calls);

        // Each later use tries the provider again, and a refresh that works replaces the token.
        down = false;
        Assert.Equal("t3", (await cache.GetAsync(ct)).Value);

        // Once the token it holds has expired, a failing provider fails the connection.
        down = true;
        clock.Advance(TimeSpan.FromMinutes(10));
        var error = await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(() => cache.GetAsync(ct).AsTask());
        Assert.Contains("idp down", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_or_failing_token_provider_is_an_authentication_failure()
    {
        var ct = TestContext.Current.CancellationToken;
        var expired = new OAuthBearerTokenCache(_ => ValueTask.FromResult(new OAuthBearerToken("t", DateTimeOffset.UtcNow.AddMinutes(-1))), TimeProvider.System);
        await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(() => expired.GetAsync(ct).AsTask());
        var failing = new OAuthBearerTokenCache(_ => throw new InvalidOperationException("idp down"), TimeProvider.System);
        var error = await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(() => failing.GetAsync(ct).AsTask());
        Assert.Contains("idp down", error.Message, StringComparison.Ordinal);
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
