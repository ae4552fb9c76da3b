using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using Messaging.Security;

namespace Messaging.Core.Tests.Security;

/// <summary>The client side of SCRAM against the RFC 7677 test vector, and the answers from a server it must refuse.</summary>
public sealed class ScramTests
{
    private const string ClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private static readonly SaslExchangeContext Context = new("localhost", 9092, "broker 1 (localhost:9092)");

    [Fact]
    public async Task Scram_sha_256_matches_the_rfc_7677_test_vector_and_accepts_the_right_server_signature()
    {
        var ct = TestContext.Current.CancellationToken;
        using var exchange = Mechanism("pencil").CreateExchange(Context);
        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Encoding.UTF8.GetString((await exchange.StartAsync(ct)).Span));

        var clientFinal = await exchange.ContinueAsync(Encoding.UTF8.GetBytes(ServerFirst), ct);
        Assert.Equal(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            Encoding.UTF8.GetString(clientFinal!.Value.Span));

        var done = await exchange.ContinueAsync("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="u8.ToArray(), ct);
        Assert.Null(done);
    }

    [Fact]
    public async Task A_wrong_server_signature_fails_the_exchange()
    {
        var ct = TestContext.Current.CancellationToken;
        using var exchange = Mechanism("pencil").CreateExchange(Context);
        await exchange.StartAsync(ct);
        await exchange.ContinueAsync(Encoding.UTF8.GetBytes(ServerFirst), ct);
        var wrong = "v=" + Convert.ToBase64String(new byte[32]);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => exchange.ContinueAsync(Encoding.UTF8.GetBytes(wrong), ct).AsTask());
        Assert.Contains("server signature is wrong", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_another_password_the_proof_differs_and_the_true_server_signature_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        using var exchange = Mechanism("not-pencil").CreateExchange(Context);
        await exchange.StartAsync(ct);
        var clientFinal = await exchange.ContinueAsync(Encoding.UTF8.GetBytes(ServerFirst), ct);
        Assert.DoesNotContain("p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", Encoding.UTF8.GetString(clientFinal!.Value.Span), StringComparison.Ordinal);
        await Assert.ThrowsAsync<AuthenticationException>(() => exchange.ContinueAsync("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="u8.ToArray(), ct).AsTask());
    }

    [Theory]
    [InlineData("r=someoneElsesNonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1024", "iteration count")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000", "iteration count")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO%hvY,s=%%%,i=4096", "salt is not base64")]
    [InlineData("e=unknown-user", "refused")]
    [InlineData("garbage", "malformed")]
    public async Task A_bad_server_first_message_fails_with_a_reason(string serverFirst, string reason)
    {
        var ct = TestContext.Current.CancellationToken;
        using var exchange = Mechanism("pencil").CreateExchange(Context);
        await exchange.StartAsync(ct);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => exchange.ContinueAsync(Encoding.UTF8.GetBytes(serverFirst), ct).AsTask());
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pencil", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_names_are_escaped_and_sha_512_is_named_for_kafka()
    {
        var ct = TestContext.Current.CancellationToken;
        var mechanism = new ScramMechanism(HashAlgorithmName.SHA512, "a,b=c", "pw", () => "nonce");
        Assert.Equal("SCRAM-SHA-512", mechanism.Name);
        Assert.DoesNotContain("pw", mechanism.ToString(), StringComparison.Ordinal);
        using var exchange = mechanism.CreateExchange(Context);
        Assert.Equal("n,,n=a=2Cb=3Dc,r=nonce", Encoding.UTF8.GetString((await exchange.StartAsync(ct)).Span));
    }

    private static ScramMechanism Mechanism(string password) => new(HashAlgorithmName.SHA256, "user", password, () => ClientNonce);
}
