using System.Net.Security;
using System.Security.Authentication;

namespace Messaging;

/// <summary>
/// TLS settings (<c>ssl.*</c>), used when <see cref="KafkaClientOptions.SecurityProtocol"/> is
/// <see cref="SecurityProtocol.Ssl"/> or <see cref="SecurityProtocol.SaslSsl"/>. By default the broker's certificate
/// is checked against the operating system's trusted roots and its name against the host the client connects to.
/// Plain settable properties, bindable from <c>IConfiguration</c> (except the callback; certificates are given as PEM text or files, which configuration carries).
/// <see cref="ToString"/> never shows keys or passwords.
/// </summary>
public sealed class SslOptions
{
    /// <summary><c>ssl.ca.pem</c>: trusted CA certificates as PEM text (one or more). When this or <see cref="CaLocation"/> is set, only these CAs are trusted, not the system store.</summary>
    public string? CaPem { get; set; }

    /// <summary><c>ssl.ca.location</c>: a PEM file of trusted CA certificates.</summary>
    public string? CaLocation { get; set; }

    /// <summary><c>ssl.certificate.pem</c>: the client certificate (mTLS) as PEM text; its key is in <see cref="KeyPem"/>.</summary>
    public string? CertificatePem { get; set; }

    /// <summary><c>ssl.key.pem</c>: the client certificate's private key as PEM text (PKCS#8, PKCS#1 or SEC1; encrypted when <see cref="KeyPassword"/> is set).</summary>
    public string? KeyPem { get; set; }

    /// <summary><c>ssl.certificate.location</c>: a PEM file with the client certificate (and its key, unless <see cref="KeyLocation"/> is set).</summary>
    public string? CertificateLocation { get; set; }

    /// <summary><c>ssl.key.location</c>: a PEM file with the client certificate's private key.</summary>
    public string? KeyLocation { get; set; }

    /// <summary><c>ssl.key.password</c>: the password of an encrypted PEM key.</summary>
    public string? KeyPassword { get; set; }

    /// <summary><c>ssl.keystore.location</c>: a PKCS#12 (PFX) file with the client certificate and key.</summary>
    public string? KeystoreLocation { get; set; }

    /// <summary><c>ssl.keystore.password</c>: the PKCS#12 file's password.</summary>
    public string? KeystorePassword { get; set; }

    /// <summary><c>ssl.enabled.protocols</c>: the TLS versions offered. Default TLS 1.2 and TLS 1.3.</summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// Turns host-name verification off (<c>ssl.endpoint.identification.algorithm</c> set to none): any certificate the
    /// trusted CAs signed is accepted whatever name it is for, which lets anyone holding such a certificate pose as the
    /// broker. For test setups only. Default false.
    /// </summary>
    public bool DangerousAcceptAnyServerName { get; set; }

    /// <summary>
    /// A policy of your own: called with the broker's certificate, its chain and the errors found by the checks
    /// above (trusted CAs, host name); its answer decides. Null (the default) accepts exactly when there are no errors.
    /// </summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; set; }

    /// <summary>Shows what is configured; keys and passwords never appear.</summary>
    public override string ToString() =>
        "SslOptions { Ca = " + (CaPem is not null ? "PEM" : CaLocation ?? "system store")
        + ", ClientCertificate = " + (CertificatePem is not null ? "PEM" : CertificateLocation ?? KeystoreLocation ?? "none")
        + ", Key = " + (KeyPem is not null || KeyLocation is not null ? "***" : "none")
        + ", EnabledProtocols = " + EnabledProtocols
        + ", DangerousAcceptAnyServerName = " + (DangerousAcceptAnyServerName ? "true" : "false") + " }";

    /// <summary>A copy a client keeps, so changing these options after the client was built changes nothing.</summary>
    internal SslOptions Snapshot() => (SslOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first contradictory setting.</summary>
    internal void Validate()
    {
        var clientSources = (CertificatePem is not null ? 1 : 0) + (CertificateLocation is not null ? 1 : 0) + (KeystoreLocation is not null ? 1 : 0);
        if (clientSources > 1)
        {
            throw new ArgumentException("Give the client certificate once: Ssl.CertificatePem, Ssl.CertificateLocation or Ssl.KeystoreLocation.", nameof(CertificatePem));
        }

        if (KeyPem is not null && CertificatePem is null)
        {
            throw new ArgumentException("Ssl.KeyPem needs Ssl.CertificatePem.", nameof(KeyPem));
        }

        if (KeyLocation is not null && CertificateLocation is null)
        {
            throw new ArgumentException("Ssl.KeyLocation needs Ssl.CertificateLocation.", nameof(KeyLocation));
        }

        if (EnabledProtocols == SslProtocols.None || (EnabledProtocols & ~(SslProtocols.Tls12 | SslProtocols.Tls13)) != 0)
        {
            throw new ArgumentException("Ssl.EnabledProtocols must be TLS 1.2, TLS 1.3 or both.", nameof(EnabledProtocols));
        }
    }
}
