using System.Buffers.Binary;

namespace FastMta.Spool.Tests;

/// <summary>
/// What a log scan may jump over: FASTER's padding at the end of a page and FastCommitMode commit records, also when
/// the jump crosses into the next page (padding, then a commit record at the page's start: a valid log that a scan
/// must not call corrupt); anything else is not skippable.
/// </summary>
public sealed class RawLogGapTests : IDisposable
{
    private const int PageSizeBits = 12;
    private const int Page = 1 << PageSizeBits;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fastmta-rawlog-tests", Guid.NewGuid().ToString("N"));

    public RawLogGapTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public void PaddingThenACommitRecordAtTheNextPageStartIsSkippable()
    {
        byte[] segment = new byte[2 * Page];
        int record = WriteCommitRecord(segment, Page, payload: 44);
        RawLog log = Write(segment);

        Assert.True(log.IsSkippableGap(Page - 100, Page + record));
        Assert.True(log.IsSkippableGap(Page - 100, Page)); // padding alone, to the page's end
        Assert.True(log.IsSkippableGap(Page, Page + record)); // the commit record alone
    }

    [Fact]
    public void AnythingButPaddingAndCommitRecordsIsNotSkippable()
    {
        byte[] segment = new byte[2 * Page];
        int record = WriteCommitRecord(segment, Page, payload: 44);
        segment[Page - 10] = 1; // a byte in the padding: something a zeroed length field hid
        RawLog log = Write(segment);
        Assert.False(log.IsSkippableGap(Page - 100, Page + record));

        segment[Page - 10] = 0;
        segment[Page + 20] ^= 0xFF; // the commit record's checksum no longer matches
        log = Write(segment);
        Assert.False(log.IsSkippableGap(Page - 100, Page + record));
        Assert.False(log.IsSkippableGap(100, 200)); // zeros that do not reach the end of their page
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private RawLog Write(byte[] segment)
    {
        var log = new RawLog(_directory, PageSizeBits, segmentSizeBits: 20);
        File.WriteAllBytes(log.SegmentPath(0), segment);
        return log;
    }

    // A FastCommitMode commit record as FasterLog frames it: checksum, negative length, payload.
    private static int WriteCommitRecord(byte[] segment, int at, int payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(segment.AsSpan(at + 8), -payload);
        new Random(5).NextBytes(segment.AsSpan(at + RawLog.EntryHeaderLength, payload));
        BinaryPrimitives.WriteUInt64LittleEndian(segment.AsSpan(at), RawLog.XorBytes(segment.AsSpan(at + 8, payload + 4)));
        return RawLog.EntryHeaderLength + ((payload + 3) & ~3);
    }
}
