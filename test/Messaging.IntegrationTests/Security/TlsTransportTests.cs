using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Messaging.Security;
using Messaging.Testing.Security;
using Messaging.Transport;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The TLS transport against a TLS server on loopback: which certificates are accepted, and that each refusal is a
/// typed <see cref="KafkaAuthenticationException"/> saying why.
/// </summary>
public sealed class TlsTransportTests : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task A_certificate_from_the_trusted_ca_connects_and_carries_bytes_both_ways()
    {
        using var certificate = _ca.IssueServerCertificate();
        await using var server = new TlsEchoServer(certificate);
        await using var transport = await ConnectAsync(new SslOptions { CaPem = _ca.CertificatePem }, server.Port, TestContext.Current.CancellationToken);
        await AssertEchoesAsync(transport);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_certificate_from_another_ca_is_refused_as_untrusted()
    {
        using var other = new TestCertificateAuthority("Someone Else");
        using var certificate = other.IssueServerCertificate();
        await using var server = new TlsEchoServer(certificate);
        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => ConnectAsync(new SslOptions { CaPem = _ca.CertificatePem }, server.Port, TestContext.Current.CancellationToken).AsTask());
        Assert.Equal("TLS", error.Mechanism);
        Assert.False(error.IsRetriable);
        Assert.Contains("chain is not trusted", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_certificate_for_another_host_is_refused_unless_host_name_verification_is_dangerously_off()
    {
        using var certificate = _ca.IssueServerCertificate(["broker.example"]);
        await using var server = new TlsEchoServer(certificate);
        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => ConnectAsync(new SslOptions { CaPem = _ca.CertificatePem }, server.Port, TestContext.Current.CancellationToken).AsTask());
        Assert.Contains("not issued for 'localhost'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("chain is not trusted", error.Message, StringComparison.Ordinal);

        await using var transport = await ConnectAsync(new SslOptions { CaPem = _ca.CertificatePem, DangerousAcceptAnyServerName = true }, server.Port, TestContext.Current.CancellationToken);
        await AssertEchoesAsync(transport);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_expired_certificate_is_refused()
    {
        using var certificate = _ca.IssueServerCertificate(expired: true);
        await using var server = new TlsEchoServer(certificate);
        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => ConnectAsync(new SslOptions { CaPem = _ca.CertificatePem }, server.Port, TestContext.Current.CancellationToken).AsTask());
        Assert.Contains("NotTimeValid", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_custom_validation_callback_decides()
    {
        using var other = new TestCertificateAuthority("Pinned Elsewhere");
        using var certificate = other.IssueServerCertificate();
        await using var server = new TlsEchoServer(certificate);
        var thumbprint = certificate.Thumbprint;
        var options = new SslOptions
        {
            CaPem = _ca.CertificatePem,
            RemoteCertificateValidation = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == thumbprint,
        };
        await using var transport = await ConnectAsync(options, server.Port, TestContext.Current.CancellationToken);
        await AssertEchoesAsync(transport);

        options.RemoteCertificateValidation = (_, _, _, _) => false;
        using var trusted = _ca.IssueServerCertificate();
        await using var strict = new TlsEchoServer(trusted);
        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => ConnectAsync(options, strict.Port, TestContext.Current.CancellationToken).AsTask());
        Assert.Contains("rejected by SslOptions.RemoteCertificateValidation", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mutual_tls_sends_the_client_certificate_from_pem_and_a_server_that_requires_one_refuses_a_client_without()
    {
        using var certificate = _ca.IssueServerCertificate();
        await using var server = new TlsEchoServer(certificate, clientCa: _ca.Certificate);
        using var client = _ca.IssueClientCertificate("CN=orders-service");
        var keyPem = client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();
        var withCertificate = new SslOptions { CaPem = _ca.CertificatePem, CertificatePem = client.ExportCertificatePem(), KeyPem = keyPem };
        Assert.DoesNotContain("PRIVATE KEY", withCertificate.ToString(), StringComparison.Ordinal);
        await using (var transport = await ConnectAsync(withCertificate, server.Port, TestContext.Current.CancellationToken))
        {
            await AssertEchoesAsync(transport);
            using var seen = await server.ClientCertificate.Task;
            Assert.Equal("CN=orders-service", seen!.Subject);
        }

        await using var refusing = new TlsEchoServer(certificate, clientCa: _ca.Certificate);
        var ct = TestContext.Current.CancellationToken;

        // TLS 1.3 completes the client's side of the handshake before the server checks the client certificate, so the
        // refusal arrives on the first read; TLS 1.2 fails the handshake itself. Either way nothing is echoed.
        var failure = await Record.ExceptionAsync(async () =>
        {
            await using var transport = await ConnectAsync(new SslOptions { CaPem = _ca.CertificatePem }, refusing.Port, TestContext.Current.CancellationToken);
            await transport.SendAsync("ping"u8.ToArray(), ct);
            var read = await transport.ReceiveAsync(new byte[16], ct);
            Assert.Equal(0, read);
            throw new IOException("closed by the server");
        });
        Assert.NotNull(failure);
        await Assert.ThrowsAnyAsync<Exception>(() => refusing.ClientCertificate.Task);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mutual_tls_sends_the_intermediate_certificates_of_a_pem_chain_file()
    {
        using var certificate = _ca.IssueServerCertificate();
        await using var server = new TlsEchoServer(certificate, clientCa: _ca.Certificate);
        using var intermediate = IssueIntermediate(_ca.Certificate, "CN=Messaging Test Intermediate");
        using var client = IssueClient(intermediate, "CN=payments-service");

        // A "fullchain" PEM, as most certificate tooling writes it: the client certificate, then its issuer.
        var chainPem = client.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem();
        var options = new SslOptions { CaPem = _ca.CertificatePem, CertificatePem = chainPem, KeyPem = client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() };
        await using var transport = await ConnectAsync(options, server.Port, TestContext.Current.CancellationToken);
        await AssertEchoesAsync(transport);
        using var seen = await server.ClientCertificate.Task;
        Assert.Equal("CN=payments-service", seen!.Subject);
    }

    [Fact(Timeout = 60_000)]
    public async Task Mutual_tls_sends_the_intermediate_certificates_of_a_pkcs12_keystore()
    {
        using var certificate = _ca.IssueServerCertificate();
        await using var server = new TlsEchoServer(certificate, clientCa: _ca.Certificate);
        using var intermediate = IssueIntermediate(_ca.Certificate, "CN=Messaging Test Intermediate");
        using var client = IssueClient(intermediate, "CN=payments-service");
        using var publicIntermediate = X509CertificateLoader.LoadCertificate(intermediate.RawData);
        var pfx = Path.Combine(Path.GetTempPath(), "messaging-" + Guid.NewGuid().ToString("N") + ".pfx");
        File.WriteAllBytes(pfx, new X509Certificate2Collection { client, publicIntermediate }.Export(X509ContentType.Pkcs12, "secret")!);
        try
        {
            var options = new SslOptions { CaPem = _ca.CertificatePem, KeystoreLocation = pfx, KeystorePassword = "secret" };
            await using var transport = await ConnectAsync(options, server.Port, TestContext.Current.CancellationToken);
            await AssertEchoesAsync(transport);
            using var seen = await server.ClientCertificate.Task;
            Assert.Equal("CN=payments-service", seen!.Subject);
        }
        finally
        {
            File.Delete(pfx);
        }
    }

    [Fact]
    public void Pfx_and_pem_client_certificates_load_and_a_missing_file_is_named()
    {
        using var client = _ca.IssueClientCertificate();
        var pfx = Path.Combine(Path.GetTempPath(), "messaging-" + Guid.NewGuid().ToString("N") + ".pfx");
        File.WriteAllBytes(pfx, client.Export(X509ContentType.Pkcs12, "secret"));
        try
        {
            using var loaded = TlsCredentials.Load(new SslOptions { KeystoreLocation = pfx, KeystorePassword = "secret" });
            Assert.True(loaded.ClientCertificate!.HasPrivateKey);
            Assert.Null(loaded.TrustedCas);

            // A keystore with no private key (a truststore given by mistake) would send no client certificate at all.
            using var publicOnly = X509CertificateLoader.LoadCertificate(client.RawData);
            File.WriteAllBytes(pfx, publicOnly.Export(X509ContentType.Pkcs12, "secret")!);
            var noKey = Assert.Throws<ArgumentException>(() => TlsCredentials.Load(new SslOptions { KeystoreLocation = pfx, KeystorePassword = "secret" }));
            Assert.Contains("no certificate with its private key", noKey.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(pfx);
        }

        var error = Assert.Throws<ArgumentException>(() => TlsCredentials.Load(new SslOptions { CaLocation = "/nonexistent/ca.pem" }));
        Assert.Contains("CaLocation", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An intermediate CA (with its key) that <paramref name="root"/> issued.</summary>
    internal static X509Certificate2 IssueIntermediate(X509Certificate2 root, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(root, now.AddMinutes(-5), now.AddDays(30), RandomNumberGenerator.GetBytes(8));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>A client certificate (with its key) that <paramref name="issuer"/> issued.</summary>
    internal static X509Certificate2 IssueClient(X509Certificate2 issuer, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(issuer, now.AddMinutes(-5), now.AddDays(30), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    private static async ValueTask<IKafkaTransport> ConnectAsync(SslOptions ssl, int port, CancellationToken cancellationToken)
    {
        var security = ConnectionSecurity.Create(SecurityProtocol.Ssl, ssl, new SaslOptions(), SocketTransportFactory.Instance, TimeProvider.System);
        return await security.TransportFactory.ConnectAsync(new KafkaTransportContext("localhost", port), cancellationToken);
    }

    private static async Task AssertEchoesAsync(IKafkaTransport transport)
    {
        var ct = TestContext.Current.CancellationToken;
        var sent = "hello over tls"u8.ToArray();
        await transport.SendAsync(sent, ct);
        var received = new byte[sent.Length];
        var total = 0;
        while (total < received.Length)
        {
            var read = await transport.ReceiveAsync(received.AsMemory(total), ct);
            Assert.NotEqual(0, read);
            total += read;
        }

        Assert.Equal(sent, received);
    }
}
