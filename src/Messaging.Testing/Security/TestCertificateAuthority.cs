using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Messaging.Testing.Security;

/// <summary>
/// A certificate authority made in memory for tests: a self-signed root that issues server certificates (for the
/// TLS-terminating proxy) and client certificates (for mTLS), valid, expired or for another name as a test needs.
/// Nothing touches a certificate store or the disk. Disposing releases the root's key.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    /// <summary>Makes a new root CA named <paramref name="name"/>.</summary>
    public TestCertificateAuthority(string name = "Messaging Test CA")
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        Certificate = request.CreateSelfSigned(now.AddDays(-60), now.AddYears(1)); // early enough to issue expired certificates
    }

    /// <summary>The root certificate (public part and key): what clients trust.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The root certificate as PEM, for <c>SslOptions.CaPem</c>.</summary>
    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>Issues a server certificate for <paramref name="hostNames"/> (DNS names or IP addresses).</summary>
    /// <param name="hostNames">The names it is valid for; default <c>localhost</c> and <c>127.0.0.1</c>.</param>
    /// <param name="expired">True for a certificate whose validity ended yesterday.</param>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string>? hostNames = null, bool expired = false) =>
        Issue("CN=" + (hostNames?.FirstOrDefault() ?? "localhost"), hostNames ?? ["localhost", "127.0.0.1"], serverAuth: true, expired);

    /// <summary>Issues a client certificate (mTLS) for <paramref name="subject"/>.</summary>
    public X509Certificate2 IssueClientCertificate(string subject = "CN=messaging-client", bool expired = false) =>
        Issue(subject, [], serverAuth: false, expired);

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="root"/> alone (no system roots, no revocation check).</summary>
    /// <param name="certificate">The presented certificate, or null (not trusted).</param>
    /// <param name="root">The only trusted root.</param>
    public static bool ChainsTo(X509Certificate? certificate, X509Certificate2 root) => ChainsTo(certificate, root, intermediates: null);

    /// <summary>
    /// True when <paramref name="certificate"/> chains to <paramref name="root"/> alone, through
    /// <paramref name="intermediates"/> (the ones the peer sent with it, as a TLS server checks a client certificate).
    /// </summary>
    internal static bool ChainsTo(X509Certificate? certificate, X509Certificate2 root, X509Certificate2Collection? intermediates)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }

        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    }

    /// <summary>Releases the root's key and certificate.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

    private X509Certificate2 Issue(string subject, IEnumerable<string> hostNames, bool serverAuth, bool expired)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        var any = false;
        foreach (var name in hostNames)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(name);
            }

            any = true;
        }

        if (any)
        {
            request.CertificateExtensions.Add(names.Build());
        }

        var now = DateTimeOffset.UtcNow;
        var (notBefore, notAfter) = expired ? (now.AddDays(-30), now.AddDays(-1)) : (now.AddMinutes(-5), now.AddDays(30));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(Certificate, notBefore, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);

        // A PKCS#12 round trip gives a certificate whose key every platform's TLS stack can use.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }
}
