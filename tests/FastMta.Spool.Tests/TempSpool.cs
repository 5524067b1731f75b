using System.Text;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Spool.Tests;

/// <summary>A spool directory under the temp path, deleted at the end of the test.</summary>
internal sealed class TempSpool : IDisposable
{
    public TempSpool(int chunkSize = 256 * 1024, int pageSizeBits = 22, int memorySizeBits = 26, int segmentSizeBits = 28, SpoolDurability durability = SpoolDurability.Commit)
    {
        Options = new SpoolOptions
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fastmta-spool-tests", Guid.NewGuid().ToString("N")),
            ChunkSize = chunkSize,
            PageSizeBits = pageSizeBits,
            MemorySizeBits = memorySizeBits,
            SegmentSizeBits = segmentSizeBits,
            CommitTimeout = TimeSpan.FromSeconds(30),
            Durability = durability,
        };
    }

    public SpoolOptions Options { get; }

    public string Path => Options.Path;

    public string SegmentFile(int segment = 0) => System.IO.Path.Combine(Path, "hlog.log." + segment);

    public Task<MessageSpool> OpenAsync() => MessageSpool.OpenAsync(Options, NullLogger.Instance, TestMeters.Create());

    public Task<MessageSpool> OpenAsync(SpoolDeviceHooks devices, Microsoft.Extensions.Logging.ILogger? logger = null) =>
        MessageSpool.OpenAsync(Options, logger ?? NullLogger.Instance, TestMeters.Create(), devices);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public static byte[] Body(int length, int seed)
    {
        var random = new Random(seed);
        byte[] body = new byte[length];
        random.NextBytes(body);
        return body;
    }

    /// <summary>Writes one message through the public API, the body in pieces of <paramref name="piece"/> bytes.</summary>
    public static async Task<SpoolMessageId> WriteAsync(MessageSpool spool, byte[] body, string sender = "sender@example.test", int recipients = 1, int piece = 8192)
    {
        using MessageWriter writer = spool.CreateWriter();
        writer.SetSender(Encoding.UTF8.GetBytes(sender), "SIZE=1000 BODY=8BITMIME"u8);
        for (int i = 0; i < recipients; i++)
        {
            writer.AddRecipient(Encoding.UTF8.GetBytes($"rcpt{i}@example.test"), i % 2 == 0 ? "NOTIFY=NEVER"u8 : default);
        }

        writer.SetOrigin("192.0.2.1", "client.example.test", null, "ESMTP");
        await WriteBodyAsync(writer, body, piece);
        await writer.CommitAsync(CancellationToken.None);
        return writer.Id;
    }

    public static async Task WriteBodyAsync(MessageWriter writer, byte[] body, int piece)
    {
        for (int offset = 0; offset < body.Length; offset += piece)
        {
            int n = Math.Min(piece, body.Length - offset);
            Span<byte> span = writer.GetSpan(n);
            body.AsSpan(offset, n).CopyTo(span);
            writer.Advance(n);
            await writer.FlushAsync(CancellationToken.None);
        }
    }

    public static async Task<List<SpooledMessage>> ReadAllAsync(MessageSpool spool)
    {
        var list = new List<SpooledMessage>();
        await foreach (SpooledMessage message in spool.ReadMessagesAsync())
        {
            list.Add(message);
        }

        return list;
    }
}
