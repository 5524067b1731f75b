using System.Text;
using FastMta.Smtp;

namespace FastMta.Inbound;

// AUTH PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) per RFC 4954, offered only under TLS unless a
// plaintext listener is explicitly allowed. Failures are rate-limited per client address.
internal sealed partial class SmtpSession
{
    private const int MaxSaslBytes = 1024;
    private string? _authUser;
    private AuthMechanism _authMechanism;
    private string? _loginUser;

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
        if (_clientAddress is not null && _server.AuthLimiter.IsBlocked(_clientAddress))
        {
            _server.Metrics.AuthAttempt("rate_limited");
            return Reject(SmtpReplies.AuthRateLimited, "auth_rate_limited");
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

    private SessionAction Verify(string user, ReadOnlySpan<byte> password)
    {
        bool ok = _options.AuthUsers.TryGetValue(user, out string? stored) && PasswordHasher.Verify(stored, password);
        if (!ok)
        {
            if (_clientAddress is not null)
            {
                _server.AuthLimiter.RecordFailure(_clientAddress);
            }
            _server.Metrics.AuthAttempt("failed");
            Log.AuthFailed(_server.Logger, user, ClientText);
            return Reject(SmtpReplies.AuthFailed, "auth_failed");
        }
        if (_clientAddress is not null)
        {
            _server.AuthLimiter.RecordSuccess(_clientAddress);
        }
        _server.Metrics.AuthAttempt("ok");
        _authUser = user;
        return Reply(SmtpReplies.AuthSucceeded);
    }
}
