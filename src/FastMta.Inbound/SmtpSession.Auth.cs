using System.Text;
using FastMta.Smtp;

namespace FastMta.Inbound;

// AUTH PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) per RFC 4954, offered only under TLS unless a
// plaintext listener is explicitly allowed. The handlers decode the exchange; the password is checked by the
// AuthVerifier off the I/O path (SessionAction.VerifyAuth: the loop awaits VerifyAuthAsync), within failure budgets per
// client address and over all clients.
internal sealed partial class SmtpSession
{
    private const int MaxSaslBytes = 1024;
    private string? _authUser;
    private AuthMechanism _authMechanism;
    private string? _loginUser;
    private AuthVerification? _verification; // made at this session's first password, reused after

    private bool AuthOffered => _server.AuthConfigured && (_tls is not null || _options.AllowPlaintextAuth);

    private SessionAction Auth(ReadOnlySpan<byte> argument)
    {
        if (!_server.AuthConfigured)
        {
            return Reject(SmtpReplies.AuthNotAvailable, "auth_unavailable");
        }
        if (!AuthOffered)
        {
            return Reject(SmtpReplies.EncryptionRequiredForAuth, "auth_needs_tls");
        }
        if (_heloName is null || !_esmtp)
        {
            return Reject(SmtpReplies.SendHeloFirst, "sequence");
        }
        if (_authUser is not null)
        {
            return Reject(SmtpReplies.AlreadyAuthenticated, "sequence");
        }
        if (_hasSender)
        {
            return Reject(SmtpReplies.AuthInTransaction, "sequence");
        }
        if (_server.AuthVerifier.IsRefusing(_clientAddress, out AuthOutcome refusal))
        {
            return FinishAuth(refusal);
        }
        if (!SaslParser.TryParseAuth(argument, out AuthMechanism mechanism, out ReadOnlySpan<byte> initialResponse)
            || mechanism == AuthMechanism.Unknown)
        {
            return Reject(SmtpReplies.AuthMechanismUnknown, "auth_mechanism");
        }
        _authMechanism = mechanism;
        _loginUser = null;
        if (initialResponse.IsEmpty)
        {
            _mode = InputMode.AuthResponse;
            return Reply(mechanism == AuthMechanism.Plain ? SmtpReplies.AuthEmptyChallenge : SmtpReplies.AuthLoginUsername);
        }
        return AuthStep(initialResponse);
    }

    private SessionAction HandleAuthResponse(LineStatus status, ReadOnlySpan<byte> line)
    {
        _mode = InputMode.Command;
        if (status != LineStatus.Complete)
        {
            return Reject(SmtpReplies.AuthCannotDecode, "auth_syntax");
        }
        if (line.SequenceEqual("*"u8))
        {
            return Reject(SmtpReplies.AuthCancelled, "auth_cancelled"); // RFC 4954 4: the client gave up
        }
        return AuthStep(line);
    }

    // One client response: the PLAIN message, the LOGIN user name, or the LOGIN password (all base64).
    private SessionAction AuthStep(ReadOnlySpan<byte> base64)
    {
        Span<byte> scratch = stackalloc byte[MaxSaslBytes];
        if (!SaslParser.TryDecodeBase64(base64, scratch, out ReadOnlySpan<byte> decoded))
        {
            return Reject(SmtpReplies.AuthCannotDecode, "auth_syntax");
        }
        if (_authMechanism == AuthMechanism.Login && _loginUser is null)
        {
            _loginUser = Encoding.UTF8.GetString(decoded);
            _mode = InputMode.AuthResponse;
            return Reply(SmtpReplies.AuthLoginPassword);
        }
        if (_authMechanism == AuthMechanism.Login)
        {
            return Verify(_loginUser!, decoded);
        }
        if (!SaslParser.TrySplitPlain(decoded, out ReadOnlySpan<byte> authzid, out ReadOnlySpan<byte> authcid,
                out ReadOnlySpan<byte> password)
            || (!authzid.IsEmpty && !authzid.SequenceEqual(authcid))) // no proxy authorization
        {
            return Reject(SmtpReplies.AuthCannotDecode, "auth_syntax");
        }
        return Verify(Encoding.UTF8.GetString(authcid), password);
    }

    // Hands the password to the I/O loop, which awaits the verifier (VerifyAuthAsync); nothing is checked here.
    private SessionAction Verify(string user, ReadOnlySpan<byte> password)
    {
        _verification ??= new AuthVerification();
        _verification.Prepare(user, password);
        return SessionAction.VerifyAuth;
    }

    // Called by the I/O loop for SessionAction.VerifyAuth; returns Close when the reply was the session's last error.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SessionAction> VerifyAuthAsync()
    {
        AuthOutcome outcome = await _server.AuthVerifier.VerifyAsync(_verification!, _clientAddress, ClientText);
        return FinishAuth(outcome);
    }

    private SessionAction FinishAuth(AuthOutcome outcome)
    {
        switch (outcome)
        {
            case AuthOutcome.Succeeded:
                _server.Metrics.AuthAttempt("ok");
                _authUser = _verification!.User;
                return Reply(SmtpReplies.AuthSucceeded);
            case AuthOutcome.Failed:
                _server.Metrics.AuthAttempt("failed");
                Log.AuthFailed(_server.Logger, _verification!.User, ClientText);
                return Reject(SmtpReplies.AuthFailed, "auth_failed");
            case AuthOutcome.ClientLimited:
                _server.Metrics.AuthAttempt("rate_limited");
                _server.Metrics.AuthRefused("client_limit");
                return Reject(SmtpReplies.AuthRateLimited, "auth_rate_limited");
            case AuthOutcome.GlobalLimited:
                _server.Metrics.AuthAttempt("rate_limited");
                _server.Metrics.AuthRefused("global_limit");
                return Reject(SmtpReplies.AuthTemporaryFailure, "auth_global_limit");
            default:
                _server.Metrics.AuthAttempt("busy");
                _server.Metrics.AuthRefused("busy");
                return Reject(SmtpReplies.AuthTemporaryFailure, "auth_busy");
        }
    }
}
