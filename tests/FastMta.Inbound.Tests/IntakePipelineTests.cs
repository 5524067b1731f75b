using FastMta.Tests.Shared;
using System.Buffers;
using System.Text;
using FastMta.Intake;
using FastMta.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Inbound.Tests;

// The intake pipeline on its own, on a real spool: what a generated DSN writes (no Received header), and the typed
// outcomes of a spool that shut down and of an envelope no log page can hold.
public sealed class IntakePipelineTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fastmta-intake-tests", Guid.NewGuid().ToString("N"));
    private MessageSpool _spool = null!;

    public async Task InitializeAsync() =>
        _spool = await MessageSpool.OpenAsync(new SpoolOptions
        {
            Path = _directory, ChunkSize = 16 * 1024, PageSizeBits = 16, MemorySizeBits = 18, SegmentSizeBits = 20,
        }, NullLogger.Instance, TestMeters.Create());

    public async Task DisposeAsync()
    {
        await _spool.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AGeneratedMessageIsStoredAsWrittenWithTheNullSenderAndNoReceivedHeader()
    {
        var intake = new IntakePipeline(() => _spool, new IntakeOptions { Hostname = "mta.intake.test" });
        using IntakeTransaction transaction = intake.CreateTransaction();
        transaction.SetSender([], []);
        transaction.AddRecipient("sender@origin.test"u8, []);
        transaction.SetOrigin(string.Empty, "mta.intake.test", null, "DSN");
        transaction.StartContent();
        transaction.Content.Write("Subject: Delivery Status Notification (Failure)\r\n\r\nreport\r\n"u8);

        Assert.Equal(IntakeRejection.None, transaction.Complete());
        IntakeResult result = await transaction.CommitAsync();

        Assert.True(result.IsAccepted);
        SpooledMessage stored = Assert.Single(await ReadAllAsync());
        Assert.Equal(result.Id, stored.Id);
        Assert.Equal("", stored.Sender);
        Assert.Equal("DSN", stored.Protocol);
        Assert.Equal("Subject: Delivery Status Notification (Failure)\r\n\r\nreport\r\n", Encoding.UTF8.GetString(stored.Body.Span));
    }

    [Fact]
    public async Task ACommitAfterTheSpoolClosedIsSpoolShuttingDownNotAnException()
    {
        var intake = new IntakePipeline(() => _spool, new IntakeOptions { Hostname = "mta.intake.test" });
        using IntakeTransaction transaction = intake.CreateTransaction();
        transaction.SetSender("a@client.test"u8, []);
        transaction.AddRecipient("b@dest.test"u8, []);
        transaction.StartContent(DateTimeOffset.UtcNow);
        transaction.Content.Write("Subject: late\r\n\r\nbody\r\n"u8);
        Assert.Equal(IntakeRejection.None, transaction.Complete());
        await _spool.DisposeAsync();

        IntakeResult result = await transaction.CommitAsync();

        Assert.Equal(IntakeRejection.SpoolShuttingDown, result.Rejection);
        Assert.IsType<SpoolOutOfServiceException>(result.Cause);
        _spool = await MessageSpool.OpenAsync(new SpoolOptions
        {
            Path = _directory, ChunkSize = 16 * 1024, PageSizeBits = 16, MemorySizeBits = 18, SegmentSizeBits = 20,
        }, NullLogger.Instance, TestMeters.Create());
        Assert.Empty(await ReadAllAsync());
    }

    [Fact]
    public async Task AnEnvelopeNoLogPageHoldsIsEnvelopeTooLarge()
    {
        var intake = new IntakePipeline(() => _spool, new IntakeOptions { Hostname = "mta.intake.test" });
        using IntakeTransaction transaction = intake.CreateTransaction();
        transaction.SetSender("a@client.test"u8, []);
        for (int i = 0; i < 4000; i++)
        {
            transaction.AddRecipient(Encoding.ASCII.GetBytes($"recipient-{i:D5}@example.test"), default); // ~80 KiB > 64 KiB page
        }
        transaction.StartContent();
        transaction.Content.Write("Subject: many\r\n\r\nbody\r\n"u8);
        Assert.Equal(IntakeRejection.None, transaction.Complete());

        IntakeResult result = await transaction.CommitAsync();

        Assert.Equal(IntakeRejection.EnvelopeTooLarge, result.Rejection);
        Assert.IsType<SpoolEnvelopeTooLargeException>(result.Cause);
    }

    [Fact]
    public void ContentOverTheLimitIsTooLargeAndTheReceivedHeaderDoesNotCount()
    {
        var intake = new IntakePipeline(() => _spool, new IntakeOptions { Hostname = "mta.intake.test", MaxMessageBytes = 24 });
        using IntakeTransaction transaction = intake.CreateTransaction();
        transaction.SetOrigin("192.0.2.1", "client.test", null, "ESMTP");
        transaction.SetSender("a@client.test"u8, []);
        transaction.AddRecipient("b@dest.test"u8, []);

        transaction.StartContent(DateTimeOffset.UtcNow);
        transaction.Content.Write("Subject: x\r\n\r\n0123456789"u8); // 24 bytes: at the limit
        Assert.Equal(IntakeRejection.None, transaction.Complete());

        transaction.Reset();
        transaction.SetSender("a@client.test"u8, []);
        transaction.AddRecipient("b@dest.test"u8, []);
        transaction.StartContent(DateTimeOffset.UtcNow);
        transaction.Content.Write("Subject: x\r\n\r\n0123456789!"u8);
        Assert.Equal(IntakeRejection.TooLarge, transaction.Complete());
    }

    private async Task<List<SpooledMessage>> ReadAllAsync()
    {
        var messages = new List<SpooledMessage>();
        await foreach (SpooledMessage message in _spool.ReadMessagesAsync())
        {
            messages.Add(message);
        }
        return messages;
    }
}
