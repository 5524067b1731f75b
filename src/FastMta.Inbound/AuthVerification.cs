using System.Security.Cryptography;
using System.Threading.Tasks.Sources;

namespace FastMta.Inbound;

// One session's pending password check, handed from the AUTH handler to the I/O loop and from there to an
// AuthVerifier thread. Made once per session that authenticates and reused for every attempt: the password is copied
// here (the handler's decoded bytes live on its stack) and wiped as soon as it has been checked. The awaiting session
// resumes on the thread pool, never on the verifier's thread.
internal sealed class AuthVerification : IValueTaskSource<bool>
{
    public const int MaxPasswordBytes = 1024; // the SASL response's decode limit: a password cannot be longer

    private readonly byte[] _password = new byte[MaxPasswordBytes];
    private ManualResetValueTaskSourceCore<bool> _completion = new() { RunContinuationsAsynchronously = true };
    private int _passwordLength;
    private StoredPassword? _stored;

    public string User { get; private set; } = "";

    public void Prepare(string user, ReadOnlySpan<byte> password)
    {
        User = user;
        password.CopyTo(_password);
        _passwordLength = password.Length;
    }

    // Wipes the copied password (an attempt refused before it was checked).
    public void Clear() => CryptographicOperations.ZeroMemory(_password.AsSpan(0, _passwordLength));

    // Before queueing: what the password is checked against (the user's stored secret, or the dummy).
    public ValueTask<bool> Start(StoredPassword stored)
    {
        _stored = stored;
        _completion.Reset();
        return new ValueTask<bool>(this, _completion.Version);
    }

    // On a verifier thread.
    public void Run()
    {
        bool ok;
        try
        {
            ok = _stored!.Verify(_password.AsSpan(0, _passwordLength));
        }
        catch (Exception ex)
        {
            Clear();
            _completion.SetException(ex);
            return;
        }
        Clear();
        _completion.SetResult(ok);
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _completion.OnCompleted(continuation, state, token, flags);
}
