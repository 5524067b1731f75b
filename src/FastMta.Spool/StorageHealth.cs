using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

/// <summary>What is wrong with the spool's storage right now.</summary>
internal enum StorageFaultKind
{
    /// <summary>ENOSPC or EDQUOT: the file system (or the quota) is full.</summary>
    NoSpace,

    /// <summary>Any other write error (EIO, EROFS, ...).</summary>
    IoError,
}

/// <summary>One failing state of the storage, from the first failed write until a held write succeeds.</summary>
internal sealed class StorageFault
{
    public StorageFault(StorageFaultKind kind, uint errno)
    {
        Kind = kind;
        Errno = errno;
        Since = Stopwatch.GetTimestamp();
        Description = Describe(errno);
        Refusal = kind == StorageFaultKind.NoSpace
            ? new SpoolOutOfServiceException(SpoolUnavailableReason.NoSpace, "The spool's disk is full: " + Description + ". Mail is refused until space is freed.")
            : new SpoolOutOfServiceException(SpoolUnavailableReason.StorageFailed, "The spool's disk failed a write: " + Description + ". Mail is refused until a retried write succeeds.");
    }

    public StorageFaultKind Kind { get; }

    public uint Errno { get; }

    /// <summary>The error in words with its name and number, e.g. "No space left on device (ENOSPC, errno 28)".</summary>
    public string Description { get; }

    public long Since { get; }

    /// <summary>The one exception every refusal during this fault throws (no allocation per refused message).</summary>
    public SpoolOutOfServiceException Refusal { get; }

    public static StorageFaultKind Classify(uint errno) => errno is 28 or 122 ? StorageFaultKind.NoSpace : StorageFaultKind.IoError;

    public static string Describe(uint errno)
    {
        string name = errno switch
        {
            28 => "ENOSPC",
            122 => "EDQUOT",
            5 => "EIO",
            30 => "EROFS",
            27 => "EFBIG",
            _ => "errno",
        };
        string words = Marshal.GetPInvokeErrorMessage((int)errno);
        string number = errno.ToString(CultureInfo.InvariantCulture);
        return name == "errno" ? $"{words} (errno {number})" : $"{words} ({name}, errno {number})";
    }
}

/// <summary>
/// The state of the spool's storage, shared by every <see cref="StorageGuardDevice"/> of one spool (log segments and
/// commit-metadata files). A write that fails makes the storage faulted (logged once, counted per failed attempt,
/// <see cref="Faulted"/> raised so that the committer refuses the waiting messages at once); it is cleared when every
/// held write has been retried successfully.
/// </summary>
internal sealed class StorageHealth
{
    /// <summary>How often a held write is retried: the probe that notices freed space.</summary>
    public static readonly TimeSpan DefaultRetryInterval = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger;
    private readonly SpoolMetrics _metrics;
    private readonly object _gate = new();
    private volatile StorageFault? _fault;
    private volatile bool _givenUp;
    private int _held;

    public StorageHealth(ILogger logger, SpoolMetrics metrics, TimeSpan retryInterval)
    {
        _logger = logger;
        _metrics = metrics;
        RetryInterval = retryInterval;
    }

    /// <summary>Raised (outside any lock) when the storage becomes faulted or the kind of fault changes.</summary>
    public event Action<StorageFault>? Faulted;

    public TimeSpan RetryInterval { get; }

    public StorageFault? Fault => _fault;

    /// <summary>Shutdown: held writes stop retrying and complete with their error at their next retry.</summary>
    public bool GivenUp => _givenUp;

    public void GiveUp() => _givenUp = true;

    /// <summary>Writes failed and held for a retry right now.</summary>
    public int HeldWrites => Volatile.Read(ref _held);

    /// <param name="firstAttempt">The write had not failed before (it is now held).</param>
    public void WriteFailed(uint errno, bool firstAttempt, string file)
    {
        StorageFaultKind kind = StorageFault.Classify(errno);
        _metrics.StorageWriteFailed(kind);
        StorageFault? raised = null;
        int heldNow;
        lock (_gate)
        {
            if (firstAttempt)
            {
                _held++;
            }

            heldNow = _held;
            if (_fault is null || _fault.Kind != kind)
            {
                _fault = raised = new StorageFault(kind, errno);
            }
        }

        if (raised is not null)
        {
            Log.StorageFaulted(_logger, raised.Description, file, heldNow, RetryInterval.TotalMilliseconds);
            Faulted?.Invoke(raised);
        }
    }

    /// <param name="written">The retried write succeeded (false: given up at shutdown; the fault stays).</param>
    public void HeldWriteEnded(string file, bool written)
    {
        StorageFault? cleared = null;
        lock (_gate)
        {
            _held--;
            if (written && _held == 0 && _fault is not null)
            {
                cleared = _fault;
                _fault = null;
            }
        }

        if (cleared is not null)
        {
            Log.StorageRecovered(_logger, cleared.Description, file, Stopwatch.GetElapsedTime(cleared.Since).TotalSeconds);
        }
    }
}
