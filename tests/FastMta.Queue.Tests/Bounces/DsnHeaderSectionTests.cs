using System.Text;

namespace FastMta.Queue.Tests.Bounces;

public class DsnHeaderSectionTests
{
    private static string Extract(string message, int limit = 1024, params int[] cuts) =>
        Encoding.UTF8.GetString(DsnHeaderSection.Extract(Sequences.Split(Encoding.UTF8.GetBytes(message), cuts), limit));

    [Fact]
    public void ReturnsTheLinesBeforeTheFirstEmptyLine()
    {
        Assert.Equal("Subject: hi\r\nFrom: a@b\r\n", Extract("Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n\r\nmore\r\n"));
    }

    [Fact]
    public void FindsTheEmptyLineAcrossSegmentBoundaries()
    {
        const string message = "Subject: hi\r\n\r\nbody\r\n";
        for (var cut = 1; cut < message.Length; cut++)
        {
            Assert.Equal("Subject: hi\r\n", Extract(message, 1024, cut));
        }
    }

    [Fact]
    public void MessageWithoutEmptyLineIsAllHeaderSection()
    {
        Assert.Equal("Subject: hi\r\nX-A: b\r\n", Extract("Subject: hi\r\nX-A: b\r\n"));
        Assert.Equal("Subject: hi\r\nX-A: b\r\n", Extract("Subject: hi\r\nX-A: b"));
    }

    [Fact]
    public void MessageStartingWithEmptyLineHasNoHeaders()
    {
        Assert.Equal("", Extract("\r\nbody only\r\n"));
    }

    [Fact]
    public void LongHeaderSectionIsCutAfterTheLastCompleteLineWithinTheLimit()
    {
        var message = "A: 123456\r\nB: 123456\r\nC: 123456\r\n\r\nbody\r\n";
        Assert.Equal("A: 123456\r\nB: 123456\r\n", Extract(message, limit: 30));
        // Exactly at the limit: the section fits whole.
        Assert.Equal("A: 123456\r\nB: 123456\r\nC: 123456\r\n", Extract(message, limit: 33));
    }

    [Fact]
    public void HeaderlessGarbageWithinTheLimitIsNotReturnedHalfCut()
    {
        Assert.Equal("", Extract(new string('x', 100), limit: 50));
    }
}
