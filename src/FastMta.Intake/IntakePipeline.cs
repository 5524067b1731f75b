using System.Text;
using FastMta.Spool;

namespace FastMta.Intake;

/// <summary>
/// The one way a message gets into FastMta, whatever brought it (an SMTP session, the HTTP API, a generated DSN):
/// envelope, Received header, content processors (<see cref="IContentProcessor"/>), the spool's
/// <see cref="MessageWriter"/> and the durable commit, with a typed outcome (<see cref="IntakeResult"/>,
/// <see cref="IntakeRejection"/>) that each source maps to its own answer. Shared by all sources; each message (or
/// each SMTP session's messages in turn) has an <see cref="IntakeTransaction"/> of its own.
/// </summary>
public sealed class IntakePipeline
{
    private readonly Func<MessageSpool?> _spool;

    /// <param name="spool">The open spool, or null while it is not open (the host opens it after building this).</param>
    public IntakePipeline(Func<MessageSpool?> spool, IntakeOptions options)
    {
        _spool = spool;
        Options = options;
        HostnameUtf8 = Encoding.ASCII.GetBytes(options.Hostname);
    }

    /// <summary>The header field in which a submitter names the egress pool for its message; removed at reception.</summary>
    public const string PoolHeaderName = "X-FastMta-Pool";

    public IntakeOptions Options { get; }

    internal byte[] HostnameUtf8 { get; }

    /// <summary>Why the spool would refuse any message now, before anything is written: not open, or a latched
    /// state (no space, storage failed); <see cref="IntakeRejection.None"/> when it takes mail.</summary>
    public IntakeRejection Refusal
    {
        get
        {
            MessageSpool? spool = _spool();
            if (spool is null)
            {
                return IntakeRejection.SpoolOutOfService;
            }
            return spool.Unavailable is { IsLatched: true } latched ? FromSpool(latched.Reason) : IntakeRejection.None;
        }
    }

    /// <summary>Whether <paramref name="pool"/> names a configured egress pool.</summary>
    public bool IsKnownPool(string pool) => Options.IsKnownPool(pool);

    /// <summary>A transaction for one message, or for one SMTP session's messages in turn (<see cref="IntakeTransaction.Reset"/>).
    /// Dispose it to give its buffers back. The spool must be open.</summary>
    public IntakeTransaction CreateTransaction()
    {
        MessageSpool spool = _spool() ?? throw new InvalidOperationException("The spool is not open.");
        var processors = new IContentProcessor[1 + Options.ContentProcessors.Count];
        processors[0] = new PoolHeaderProcessor(Options.IsKnownPool);
        for (int i = 1; i < processors.Length; i++)
        {
            processors[i] = Options.ContentProcessors[i - 1]();
        }
        return new IntakeTransaction(this, spool.CreateWriter(), processors);
    }

    internal static IntakeRejection FromSpool(SpoolUnavailableReason reason) => reason switch
    {
        SpoolUnavailableReason.BackPressure => IntakeRejection.SpoolBusy,
        SpoolUnavailableReason.ShuttingDown => IntakeRejection.SpoolShuttingDown,
        SpoolUnavailableReason.NoSpace => IntakeRejection.SpoolNoSpace,
        _ => IntakeRejection.SpoolStorageFailed,
    };
}
