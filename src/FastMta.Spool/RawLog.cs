using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FastMta.Spool;

/// <summary>
/// Direct reads of the FasterLog segment files, for the checks FasterLog does not make itself:
/// the entries of the tail page (which recovery loads into memory, where the scan does not verify checksums) and
/// the gaps the scan jumps over (a zeroed length field makes FasterLog skip the rest of a page silently; a real
/// end-of-page gap is all zeros).
/// </summary>
internal sealed class RawLog
{
    // FasterLog's entry header with LogChecksum = PerEntry: u64 XOR checksum over (length field + payload), i32 length.
    public const int EntryHeaderLength = 12;
    public const string SegmentFilePrefix = "hlog.log";

    private readonly string _directory;
    private readonly int _pageSizeBits;
    private readonly int _segmentSizeBits;

    public RawLog(string directory, int pageSizeBits, int segmentSizeBits)
    {
        _directory = directory;
        _pageSizeBits = pageSizeBits;
        _segmentSizeBits = segmentSizeBits;
    }

    public string SegmentPath(long segment) => Path.Combine(_directory, SegmentFilePrefix + "." + segment.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Segment files with at least one byte of data.</summary>
    public static bool AnySegmentData(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, SegmentFilePrefix + ".*"))
        {
            string suffix = Path.GetFileName(file)[(SegmentFilePrefix.Length + 1)..];
            if (long.TryParse(suffix, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _) && new FileInfo(file).Length > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Walks the entries of the page holding <paramref name="committedUntil"/>, from the page start (or the begin
    /// address) to the committed tail, verifying every FasterLog checksum. Throws <see cref="SpoolRecoveryException"/>.
    /// </summary>
    public void VerifyTailPage(long beginAddress, long committedUntil)
    {
        if (committedUntil <= beginAddress)
        {
            return;
        }

        long pageMask = (1L << _pageSizeBits) - 1;
        long start = Math.Max(committedUntil & ~pageMask, beginAddress);
        if (start == committedUntil)
        {
            // The tail is page-aligned: make sure the last byte before it exists on disk at least.
            EnsureCovered(committedUntil - 1, 1);
            return;
        }

        int length = checked((int)(committedUntil - start));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> page = buffer.AsSpan(0, length);
            Read(start, page);
            int position = 0;
            while (position < length)
            {
                long address = start + position;
                if (length - position < EntryHeaderLength)
                {
                    throw new SpoolRecoveryException($"Spool log is inconsistent: the commit metadata claims data up to address {committedUntil}, but the entry at {address} is cut off. Refusing to start.");
                }

                ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(page[position..]);
                int lengthField = BinaryPrimitives.ReadInt32LittleEndian(page[(position + 8)..]);
                // FastCommitMode writes commit records into the log with a negated length field; they carry the same
                // checksum over the (negative) length field and their payload.
                int entryLength = lengthField == int.MinValue ? 0 : Math.Abs(lengthField);
                if (entryLength == 0 || entryLength > length - position - EntryHeaderLength)
                {
                    throw new SpoolRecoveryException($"Spool log is inconsistent: the commit metadata claims data up to address {committedUntil}, but the log holds no valid entry at address {address} (length field {lengthField}). The commit metadata or the last page is corrupt. Refusing to start.");
                }

                if (XorBytes(page.Slice(position + 8, entryLength + 4)) != checksum)
                {
                    throw new SpoolRecoveryException($"Spool log is corrupt: checksum mismatch in the entry at address {address} (last page before the committed tail {committedUntil}). Refusing to start.");
                }

                position += EntryHeaderLength + ((entryLength + 3) & ~3);
            }

            if (position != length)
            {
                throw new SpoolRecoveryException($"Spool log is inconsistent: entries end at address {start + position}, the commit metadata says {committedUntil}. Refusing to start.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// True when [from, to) holds only what a scan legitimately skips, page by page: FastCommitMode commit records
    /// (negative length field, valid checksum), then, in a page the gap leaves, zeros to its end (FasterLog leaves the
    /// rest of a page empty when the next entry does not fit). A gap may thus cross a page boundary: the padding at the
    /// end of one page, then a commit record at the start of the next.
    /// </summary>
    public bool IsSkippableGap(long from, long to)
    {
        long pageSize = 1L << _pageSizeBits;
        while (from < to)
        {
            long pageEnd = (from & ~(pageSize - 1)) + pageSize;
            long end = Math.Min(pageEnd, to);
            if (!IsSkippableInPage(from, end, pageAligned: end == pageEnd))
            {
                return false;
            }

            from = end;
        }

        return true;
    }

    /// <summary>True when [from, to) (within one page) holds only FastCommitMode commit records, then, when
    /// <paramref name="pageAligned"/>, zeros to the end of the page.</summary>
    private bool IsSkippableInPage(long from, long to, bool pageAligned)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(checked((int)(to - from)));
        try
        {
            Span<byte> gap = buffer.AsSpan(0, (int)(to - from));
            Read(from, gap);
            int position = 0;
            while (gap.Length - position >= EntryHeaderLength)
            {
                int lengthField = BinaryPrimitives.ReadInt32LittleEndian(gap[(position + 8)..]);
                if (lengthField >= 0 || lengthField == int.MinValue)
                {
                    break;
                }

                int payload = -lengthField;
                if (payload > gap.Length - position - EntryHeaderLength
                    || XorBytes(gap.Slice(position + 8, payload + 4)) != BinaryPrimitives.ReadUInt64LittleEndian(gap[position..]))
                {
                    return false;
                }

                position += EntryHeaderLength + ((payload + 3) & ~3);
            }

            return position == gap.Length || (pageAligned && !gap[position..].ContainsAnyExcept((byte)0));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void EnsureCovered(long address, int count)
    {
        long segment = address >> _segmentSizeBits;
        long offset = address & ((1L << _segmentSizeBits) - 1);
        var info = new FileInfo(SegmentPath(segment));
        if (!info.Exists || info.Length < offset + count)
        {
            throw new SpoolRecoveryException($"Spool log is truncated: the commit metadata claims data up to address {address + count}, but segment file {info.FullName} is {(info.Exists ? info.Length + " bytes long" : "missing")}. Refusing to start.");
        }
    }

    private void Read(long address, Span<byte> destination)
    {
        // Callers stay within one page, and pages never cross segment boundaries.
        EnsureCovered(address, destination.Length);
        long segment = address >> _segmentSizeBits;
        long offset = address & ((1L << _segmentSizeBits) - 1);
        using SafeFileHandle handle = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        int done = 0;
        while (done < destination.Length)
        {
            int read = RandomAccess.Read(handle, destination[done..], offset + done);
            if (read == 0)
            {
                throw new SpoolRecoveryException($"Unexpected end of segment file {SegmentPath(segment)} at offset {offset + done}.");
            }

            done += read;
        }
    }

    /// <summary>FasterLog's per-entry checksum (Utility.XorBytes): XOR of 8-byte words, then of the remaining bytes.</summary>
    internal static ulong XorBytes(ReadOnlySpan<byte> data)
    {
        ulong result = 0;
        int i = 0;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong word in words)
        {
            result ^= BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word);
        }

        i = words.Length * 8;
        for (; i < data.Length; i++)
        {
            result ^= data[i];
        }

        return result;
    }
}
