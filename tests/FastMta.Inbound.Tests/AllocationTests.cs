using FastMta.Tests.Shared;
using System.Buffers;
using System.Text;
using FastMta.Intake;
using FastMta.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Inbound.Tests;

// The seams on the hot path cost no allocation: a RCPT's verdict from the server's policy chain, and a message's way
// through the intake transaction up to the commit (the commit itself is FASTER's, measured by the benchmarks).
public sealed class AllocationTests
{
    [Fact]
    public void TheDefaultPolicyChainDecidesARecipientWithoutAllocating()
    {
        IRecipientPolicy chain = RelayRecipientPolicy.Chain(
            new LocalDomains([new LocalDomain("bounces.alloc.test", new NoMailbox())]), []);
        ReadOnlyMemory<byte> remote = Encoding.ASCII.GetBytes("someone@dest.test");
        ReadOnlyMemory<byte> local = Encoding.ASCII.GetBytes("b+1@bounces.alloc.test");
        Assert.True(Evaluate(chain, remote, local)); // warm-up (JIT, statics)

        int decided = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            decided += Evaluate(chain, remote, local) ? 1 : 0;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(1000, decided);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task AMessageThroughTheIntakeTransactionAllocatesNothingBeforeTheCommit()
    {
        string directory = Path.Combine(Path.GetTempPath(), "fastmta-alloc-tests", Guid.NewGuid().ToString("N"));
        MessageSpool spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = directory }, NullLogger.Instance, TestMeters.Create());
        try
        {
            var intake = new IntakePipeline(() => spool, new IntakeOptions { Hostname = "mta.alloc.test", MaxMessageBytes = 1 << 20 });
            using IntakeTransaction transaction = intake.CreateTransaction();
            byte[] content = Encoding.ASCII.GetBytes("Subject: alloc\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 62) + "\r\n", 16)));
            Assert.True(TakeOne(transaction, content)); // warm-up

            int taken = 0;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                taken += TakeOne(transaction, content) ? 1 : 0;
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(100, taken);
            Assert.Equal(0, allocated);
        }
        finally
        {
            await spool.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    // Checked without Assert, which allocates: true when both verdicts were given at once and are the expected ones.
    private static bool Evaluate(IRecipientPolicy chain, ReadOnlyMemory<byte> remote, ReadOnlyMemory<byte> local)
    {
        ValueTask<RecipientVerdict> relayed = chain.EvaluateAsync(new RecipientRequest { Address = remote, ClientInRelayNetworks = true }, default);
        ValueTask<RecipientVerdict> taken = chain.EvaluateAsync(new RecipientRequest { Address = local }, default);
        return relayed.IsCompletedSuccessfully && relayed.Result.Decision == RecipientDecision.Relay
            && taken.IsCompletedSuccessfully && taken.Result.Decision == RecipientDecision.Local;
    }

    // As an SMTP session takes a message: envelope, Received header, content through the chain, flush, verdict; then
    // the transaction is reset for the next one. True when every step took it (checked without Assert, which allocates).
    private static bool TakeOne(IntakeTransaction transaction, byte[] content)
    {
        transaction.SetOrigin("192.0.2.1", "client.alloc.test", null, "ESMTP");
        transaction.SetSender("sender@client.alloc.test"u8, "BODY=8BITMIME"u8);
        transaction.AddRecipient("rcpt@dest.alloc.test"u8, default);
        transaction.StartContent(DateTimeOffset.UtcNow);
        transaction.Content.Write(content);
        ValueTask<IntakeResult> flushed = transaction.FlushAsync(CancellationToken.None);
        bool taken = flushed.IsCompletedSuccessfully && flushed.Result.IsAccepted && transaction.Complete() == IntakeRejection.None;
        transaction.Reset();
        return taken;
    }

    private sealed class NoMailbox : ILocalMailbox
    {
        public ValueTask DeliverAsync(LocalMessage message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
