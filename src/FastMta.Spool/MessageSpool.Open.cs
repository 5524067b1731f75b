using System.Diagnostics;
using System.Diagnostics.Metrics;
using FASTER.core;
using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

// Opening a spool: the directory's lock, the watermark, the devices (file, guard, commit metadata), FasterLog's
// recovery and the checks that make FastMta refuse a spool it cannot trust.
public sealed partial class MessageSpool
{
    /// <summary>Creates the directory if needed, opens FasterLog, recovers and verifies, starts the committer.</summary>
    /// <exception cref="SpoolRecoveryException">The spool cannot be trusted; FastMta must not start.</exception>
    /// <exception cref="SpoolLockedException">Another process has the spool open.</exception>
    /// <param name="meters">Creates the spool's meter (<see cref="SpoolMetrics.MeterName"/>).</param>
    public static Task<MessageSpool> OpenAsync(SpoolOptions options, ILogger logger, IMeterFactory meters, CancellationToken cancellationToken = default) =>
        OpenAsync(options, logger, meters, devices: null, cancellationToken);

    /// <param name="devices">Tests: wrap the log segment device (a faulting device) and choose the retry interval.</param>
    internal static Task<MessageSpool> OpenAsync(SpoolOptions options, ILogger logger, IMeterFactory meters, SpoolDeviceHooks? devices,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(meters);
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        string path = Path.GetFullPath(options.Path);
        Directory.CreateDirectory(path);
        var resolved = new SpoolOptions
        {
            Path = path,
            ChunkSize = options.ChunkSize,
            PageSizeBits = options.PageSizeBits,
            MemorySizeBits = options.MemorySizeBits,
            SegmentSizeBits = options.SegmentSizeBits,
            CommitTimeout = options.CommitTimeout,
            Durability = options.Durability,
        };

        // First of all, before the log is read: a second process on this spool must not touch it.
        SpoolLock spoolLock = SpoolLock.Acquire(path);
        IDevice? device = null;
        DeviceLogCommitCheckpointManager? commitManager = null;
        FasterLog? log = null;
        SpoolMetrics? metrics = null;
        try
        {
            bool hasData = RawLog.AnySegmentData(path);
            bool hasCommits = SpoolFiles.AnyCommitMetadata(path);
            long watermark;
            switch (SpoolWatermark.TryRead(path, out watermark, out string detail))
            {
                case SpoolWatermark.Status.Missing when hasData || hasCommits:
                    throw Refuse(logger, $"The spool at {path} holds log data but its watermark file {SpoolWatermark.FileName} is missing, so what was acknowledged cannot be verified. Restore the file from a backup or move the spool aside; FastMta will not start on it.");
                case SpoolWatermark.Status.Missing:
                    watermark = SpoolFiles.FirstAddress;
                    SpoolWatermark.Write(path, watermark);
                    Log.SpoolCreated(logger, path);
                    break;
                case SpoolWatermark.Status.Corrupt:
                    throw Refuse(logger, $"The spool watermark is corrupt ({detail}). FastMta will not start on a spool it cannot verify.");
                case SpoolWatermark.Status.Valid when !hasData && !hasCommits:
                    Log.NothingToRecover(logger, path);
                    break;
            }

            metrics = new SpoolMetrics(meters);
            var storage = new StorageHealth(logger, metrics, devices?.RetryInterval ?? StorageHealth.DefaultRetryInterval);
            bool writeThrough = resolved.Durability == SpoolDurability.Commit;
            // One device for both durabilities (Commit: O_SYNC; Relaxed: the page cache), behind the guard that holds a
            // failed write for a retry instead of letting FasterLog see it (StorageGuardDevice); the commit-metadata files
            // go through the same guard.
            IDevice file = new SpoolFileDevice(SpoolFiles.LogFile(path), writeThrough, flushOnDispose: !writeThrough);
            device = new StorageGuardDevice(devices?.BelowGuard?.Invoke(file) ?? file, storage);
            device = devices?.AboveGuard?.Invoke(device) ?? device;
            commitManager = new DeviceLogCommitCheckpointManager(new SpoolDeviceFactory(writeThrough, storage), new DefaultCheckpointNamingScheme(path), removeOutdated: true);
            var settings = new FasterLogSettings
            {
                LogDevice = device,
                LogCommitManager = commitManager,
                LogCommitDir = path,
                PageSize = 1L << resolved.PageSizeBits,
                MemorySize = 1L << resolved.MemorySizeBits,
                SegmentSize = 1L << resolved.SegmentSizeBits,
                LogChecksum = LogChecksumType.PerEntry,
                // Commit records go into the log itself instead of a new metadata file (written, then the old one
                // unlinked) per commit: that file was 12 % of the relay's CPU and an extra synchronous write in every
                // commit's latency. FASTER still writes a metadata file now and then; recovery reads the newest one
                // and then the commit records after it (verified below like any recovery).
                FastCommitMode = true,
                TryRecoverLatest = false, // the constructor would swallow recovery errors; recover explicitly below
                AutoCommit = false,
                AutoRefreshSafeTailAddress = false,
            };
            // FASTER logs "Unable to recover using any available commit" (Information) whenever it finds no commit,
            // which on a spool that never had one is the expected case, not a failure: the filter drops that line
            // there (NothingToRecover or SpoolCreated said it in clear words). On a spool with data the line passes,
            // and the watermark check below refuses a recovery that fell short.
            log = new FasterLog(settings, hasData || hasCommits ? logger : new NothingToRecoverFilter(logger));
            try
            {
                log.Recover();
            }
            catch (Exception e)
            {
                throw Refuse(logger, $"FasterLog recovery of {path} failed: {e.Message}", e);
            }

            long begin = log.BeginAddress;
            long committed = log.CommittedUntilAddress;
            if (committed < watermark)
            {
                throw Refuse(logger, $"The spool at {path} recovered up to log address {committed}, but its watermark records that data up to {watermark} was committed (and acknowledged). The commit metadata is missing, stale or corrupt. FastMta will not start and silently lose mail; restore the spool or investigate.");
            }

            if (hasData && committed <= begin)
            {
                // Safe: the first acknowledgement is only sent after the watermark moved past the log start.
                Log.UncommittedDataIgnored(logger, path);
            }

            var rawLog = new RawLog(path, resolved.PageSizeBits, resolved.SegmentSizeBits);
            try
            {
                rawLog.VerifyTailPage(begin, committed);
            }
            catch (SpoolRecoveryException e)
            {
                Log.RecoveryRefused(logger, e.Message);
                throw;
            }
            catch (IOException e)
            {
                throw Refuse(logger, $"Reading the spool log tail in {path} failed: {e.Message}", e);
            }

            TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
            metrics.RecoveryCompleted(elapsed.TotalSeconds);
            var spool = new MessageSpool(resolved, logger, device, commitManager, log, rawLog, metrics, storage, spoolLock, watermark);
            Log.SpoolOpened(logger, path, begin, committed, watermark, elapsed.TotalMilliseconds);
            return Task.FromResult(spool);
        }
        catch
        {
            log?.Dispose();
            commitManager?.Dispose();
            device?.Dispose();
            metrics?.Dispose();
            spoolLock.Dispose();
            throw;
        }
    }

    private static SpoolRecoveryException Refuse(ILogger logger, string reason, Exception? inner = null)
    {
        Log.RecoveryRefused(logger, reason);
        return inner is null ? new SpoolRecoveryException(reason) : new SpoolRecoveryException(reason, inner);
    }
}
