using System.Buffers;
using System.Text;

namespace FastMta.Smtp.Tests;

public sealed class ClientCodecTests
{
    private static string Written(Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void EhloCapabilitiesAreParsedCaseInsensitively()
    {
        EhloCapabilities capabilities = EhloCapabilities.Parse(
            ["mx.example.com greets you", "pipelining", "SIZE 35882577", "8bitmime", "SmtpUtf8", "CHUNKING", "STARTTLS",
             "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN", "X-UNKNOWN"]);
        Assert.Equal(new EhloCapabilities(true, true, 35882577, true, true, true, true, true), capabilities);
    }

    [Fact]
    public void TheGreetingLineIsNotAKeyword()
    {
        Assert.Equal(default, EhloCapabilities.Parse(["PIPELINING"]));
    }

    [Theory]
    [InlineData("SIZE", 0)]
    [InlineData("SIZE 0", 0)]
    [InlineData("SIZE lots", 0)]
    [InlineData("SIZE 1000", 1000)]
    public void SizeWithoutAUsableNumberMeansNoFixedLimit(string line, long expected)
    {
        EhloCapabilities capabilities = EhloCapabilities.Parse(["mx", line]);
        Assert.True(capabilities.Size);
        Assert.Equal(expected, capabilities.MaxMessageSize);
    }

    [Fact]
    public void CommandsAreWrittenAsTheRfcsSpellThem()
    {
        Assert.Equal("EHLO out.example.net\r\n", Written(o => ClientCommandWriter.WriteEhlo(o, "out.example.net")));
        Assert.Equal("HELO out.example.net\r\n", Written(o => ClientCommandWriter.WriteHelo(o, "out.example.net")));
        Assert.Equal("MAIL FROM:<>\r\n", Written(o => ClientCommandWriter.WriteMailFrom(o, "")));
        Assert.Equal("MAIL FROM:<a@b.example> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n",
            Written(o => ClientCommandWriter.WriteMailFrom(o, "a@b.example", 1234, eightBitMime: true, smtpUtf8: true)));
        Assert.Equal("RCPT TO:<jürgen@bücher.example>\r\n", Written(o => ClientCommandWriter.WriteRcptTo(o, "jürgen@bücher.example")));
        Assert.Equal("DATA\r\n", Written(ClientCommandWriter.WriteData));
        Assert.Equal("BDAT 0 LAST\r\n", Written(o => ClientCommandWriter.WriteBdat(o, 0, last: true)));
        Assert.Equal("BDAT 1048576\r\n", Written(o => ClientCommandWriter.WriteBdat(o, 1048576, last: false)));
        Assert.Equal("RSET\r\n", Written(ClientCommandWriter.WriteRset));
        Assert.Equal("QUIT\r\n", Written(ClientCommandWriter.WriteQuit));
        Assert.Equal("STARTTLS\r\n", Written(ClientCommandWriter.WriteStartTls));
    }

    [Fact]
    public void AnAddressWithALineBreakCannotInjectACommand()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => ClientCommandWriter.WriteRcptTo(output, "a@b>\r\nDATA"));
    }

    [Fact]
    public void WrittenCommandsParseOnTheServerSide()
    {
        // One codec, two directions: what the client writes, the server's parser reads back.
        string mail = Written(o => ClientCommandWriter.WriteMailFrom(o, "a@b.example", 99, eightBitMime: true));
        var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(mail)));
        Assert.Equal(LineStatus.Complete, framer.TryReadLine(ref reader, new byte[512], out ReadOnlySpan<byte> line));
        Assert.Equal(mail[..^2], Encoding.ASCII.GetString(line));
    }
}
