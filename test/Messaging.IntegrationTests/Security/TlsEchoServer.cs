using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// A TLS server on loopback that echoes what it reads: enough to show a client TLS transport connects (or why it does
/// not). Records the client certificate it saw and how its own handshake ended.
/// </summary>
internal sealed class TlsEchoServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2? _clientCa;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    /// <param name="certificate">The server's certificate.</param>
    /// <param name="clientCa">When set, a client certificate issued by it is required (mTLS).</param>
    public TlsEchoServer(X509Certificate2 certificate, X509Certificate2? clientCa = null)
    {
        _certificate = certificate;
        _clientCa = clientCa;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public TaskCompletionSource<X509Certificate2?> ClientCertificate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept.WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        var served = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                served.Add(ServeAsync(socket));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Disposal stops the listener. If that happens between two accepts — the loop is starting a connection it
            // just accepted — the next AcceptSocketAsync finds no listener and throws InvalidOperationException ("Not
            // listening") rather than a cancellation: that is the same end of the loop, not a failure.
        }

        await Task.WhenAll(served).WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync(Socket socket)
    {
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = _clientCa is not null,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = ValidateClient,
            }, _stop.Token);
            ClientCertificate.TrySetResult(tls.RemoteCertificate is null ? null : new X509Certificate2(tls.RemoteCertificate));
            var buffer = new byte[1024];
            int read;
            while ((read = await tls.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await tls.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex)
        {
            // Whatever a refused or vanished client makes the handshake throw (IOException, AuthenticationException,
            // a socket error under load, cancellation at dispose) ends this connection only: an echo server that
            // faulted here would fail the test at dispose for a reason the test is not about.
            ClientCertificate.TrySetException(ex);
        }
    }

    /// <summary>
    /// As a broker checks a client certificate: it must chain to the client CA alone, through the intermediates the
    /// client sent with it (which the handshake put in <paramref name="chain"/>'s extra store).
    /// </summary>
    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        _clientCa is null || Messaging.Testing.Security.TestCertificateAuthority.ChainsTo(certificate, _clientCa, chain?.ChainPolicy.ExtraStore);
}
