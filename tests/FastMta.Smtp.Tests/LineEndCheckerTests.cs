using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class LineEndCheckerTests
{
    // Every split into up to three pieces (BDAT chunks, or reads within one) must agree.
    private static (bool BareCr, bool BareLf) CheckAtEveryPairOfSplits(string content)
    {
        byte[] data = Bytes(content);
        (bool, bool) expected = Check([data]);
        for (int i = 0; i <= data.Length; i++)
        {
            for (int j = i; j <= data.Length; j++)
            {
                Assert.Equal(expected, Check(Split(data, i, j)));
            }
        }
        return expected;
    }

    private static (bool BareCr, bool BareLf) Check(byte[][] pieces)
    {
        var checker = new LineEndChecker();
        foreach (byte[] piece in pieces)
        {
            checker.Check(piece);
        }
        checker.Complete();
        Assert.Equal(checker.SawBareCarriageReturn || checker.SawBareLineFeed, checker.SawBareLineEnd);
        return (checker.SawBareCarriageReturn, checker.SawBareLineFeed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Subject: x\r\n\r\nbody\r\n")]
    [InlineData("no final line end")]
    [InlineData("\r\n.\r\n..\r\nQUIT\r\n")]
    [InlineData("8-bit \u00e9 and NUL \0 and TAB \t\r\n")]
    public void CrlfOnlyContentIsClean(string content)
    {
        Assert.Equal((false, false), CheckAtEveryPairOfSplits(content));
    }

    [Theory]
    [InlineData("a\r.\r\nMAIL FROM:<x@y>\r\n", true, false)]
    [InlineData("a\n.\nRCPT TO:<x@y>\r\n", false, true)]
    [InlineData("a\r.\nDATA\r\n", true, true)]
    [InlineData("a\r\r\n", true, false)]
    [InlineData("mid\rline\r\n", true, false)]
    [InlineData("a\r\n\n", false, true)]
    [InlineData("\n", false, true)]
    [InlineData("ends with CR\r", true, false)]
    [InlineData("\r", true, false)]
    public void BareCarriageReturnsAndLineFeedsAreFound(string content, bool bareCr, bool bareLf)
    {
        Assert.Equal((bareCr, bareLf), CheckAtEveryPairOfSplits(content));
    }

    [Fact]
    public void ACrEndingOneChunkAndAnLfStartingTheNextAreACrlf()
    {
        Assert.Equal((false, false), Check([Bytes("a\r"), Bytes("\nb\r"), Bytes(""), Bytes("\n")]));
        Assert.Equal((true, false), Check([Bytes("a\r"), Bytes("b\r\n")]));
    }

    [Fact]
    public void ResetForgetsEverything()
    {
        var checker = new LineEndChecker();
        checker.Check(Bytes("a\n\r"));
        checker.Reset();
        checker.Check(Bytes("\nb\r\n"));
        checker.Complete();
        Assert.True(checker.SawBareLineFeed); // the pending CR was forgotten too: this LF is bare
        Assert.False(checker.SawBareCarriageReturn);
    }
}
