using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace FastMta.Spool;

/// <summary>
/// The Envelope record (kind 2; layout in SpoolRecord.cs, also embedded whole in a CopyForward record): how long it is,
/// how it is written and how it is read back, side by side so that the writer and every reader agree on one layout.
/// </summary>
internal static class EnvelopeRecord
{
    public const int FixedLength = 48;
    public const int ChunkTableOffset = FixedLength;

    // Flag bits of the u32 at offset 32. Each was added compatibly: a record without it reads as before.
    public const uint FlagAuthenticated = 1;
    public const uint FlagPool = 2;
    public const uint FlagSmtpUtf8 = 4;
    public const uint FlagEightBitMime = 8;
    private const uint KnownFlags = FlagAuthenticated | FlagPool | FlagSmtpUtf8 | FlagEightBitMime;
    private const uint EsmtpFlags = FlagSmtpUtf8 | FlagEightBitMime;

    // The fixed part's fields after the common header.
    private const int IdOffset = 8;
    private const int ReceivedOffset = 16;
    private const int BodyLengthOffset = 24;
    private const int FlagsOffset = 32;
    private const int ChunkCountOffset = 36;
    private const int RecipientCountOffset = 40;
    private const int InlineLengthOffset = 44;

    // Six length prefixes always present: sender, sender parameters, client address, HELO name, authenticated user, protocol.
    private const int AlwaysPresentStrings = 6;

    private const long MaxReceivedUnixMs = 253402300799999; // 9999-12-31T23:59:59.999Z, DateTimeOffset's limit

    /// <summary>The record's length in bytes (clamped to int.MaxValue: the caller refuses anything above a page).</summary>
    public static int Measure(in EnvelopeContent content)
    {
        long length = FixedLength
            + (8L * content.ChunkAddresses.Length)
            + (4 * AlwaysPresentStrings) + content.Sender.Length + content.SenderParameters.Length
            + Encoding.UTF8.GetByteCount(content.ClientAddress)
            + Encoding.UTF8.GetByteCount(content.HeloName)
            + (content.AuthenticatedUser is null ? 0 : Encoding.UTF8.GetByteCount(content.AuthenticatedUser))
            + Encoding.UTF8.GetByteCount(content.Protocol)
            + (content.Pool is null ? 0 : 4 + Encoding.UTF8.GetByteCount(content.Pool))
            + (8L * content.Recipients.Length) + content.RecipientBytes.Length
            + content.Inline.Length;
        return length > int.MaxValue ? int.MaxValue : (int)length;
    }

    /// <summary>Writes the record of <paramref name="length"/> bytes (from <see cref="Measure"/>) into <paramref name="destination"/>.</summary>
    public static void Write(Span<byte> destination, in EnvelopeContent content, int length)
    {
        SpoolRecord.WriteHeader(destination, RecordKind.Envelope, length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[IdOffset..], content.Id.Value);
        BinaryPrimitives.WriteInt64LittleEndian(destination[ReceivedOffset..], content.ReceivedAtUnixMs);
        BinaryPrimitives.WriteInt64LittleEndian(destination[BodyLengthOffset..], content.BodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[FlagsOffset..], FlagsOf(content));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[ChunkCountOffset..], (uint)content.ChunkAddresses.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[RecipientCountOffset..], (uint)content.Recipients.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[InlineLengthOffset..], (uint)content.Inline.Length);
        int position = ChunkTableOffset;
        foreach (long chunkAddress in content.ChunkAddresses)
        {
            BinaryPrimitives.WriteInt64LittleEndian(destination[position..], chunkAddress);
            position += 8;
        }

        position += SpoolRecord.WriteBytes(destination[position..], content.Sender);
        position += SpoolRecord.WriteBytes(destination[position..], content.SenderParameters);
        position += SpoolRecord.WriteString(destination[position..], content.ClientAddress, Encoding.UTF8.GetByteCount(content.ClientAddress));
        position += SpoolRecord.WriteString(destination[position..], content.HeloName, Encoding.UTF8.GetByteCount(content.HeloName));
        string? user = content.AuthenticatedUser;
        position += SpoolRecord.WriteString(destination[position..], user, user is null ? 0 : Encoding.UTF8.GetByteCount(user));
        position += SpoolRecord.WriteString(destination[position..], content.Protocol, Encoding.UTF8.GetByteCount(content.Protocol));
        if (content.Pool is not null)
        {
            position += SpoolRecord.WriteString(destination[position..], content.Pool, Encoding.UTF8.GetByteCount(content.Pool));
        }

        ReadOnlySpan<byte> recipientBytes = content.RecipientBytes;
        foreach ((int addressLength, int parametersLength) in content.Recipients)
        {
            position += SpoolRecord.WriteBytes(destination[position..], recipientBytes[..addressLength]);
            recipientBytes = recipientBytes[addressLength..];
            position += SpoolRecord.WriteBytes(destination[position..], recipientBytes[..parametersLength]);
            recipientBytes = recipientBytes[parametersLength..];
        }

        content.Inline.CopyTo(destination[position..]);
        position += content.Inline.Length;
        Debug.Assert(position == length, "envelope length mismatch");
    }

    /// <summary>
    /// Reads and checks a whole envelope record (queue rebuild, commit-time views, tools). Throws
    /// <see cref="SpoolCorruptException"/> for anything that does not add up.
    /// </summary>
    /// <param name="beginAddress">The log's begin address: chunk addresses below it were truncated away with the
    /// message final, and are accepted.</param>
    /// <param name="chunks">Chunk addresses seen earlier in a scan (each may be claimed once), or null for random access.</param>
    public static EnvelopeFields Parse(ReadOnlySpan<byte> record, long address, long beginAddress, HashSet<long>? chunks)
    {
        (SpoolMessageId id, long bodyLength, uint flags, int chunkCount, uint recipientCount, int inlineLength) = ReadFixed(record, address);
        var reader = new SpoolRecord.FieldReader(record, address, ChunkTableOffset);
        long firstChunk = -1;
        for (int i = 0; i < chunkCount; i++)
        {
            long chunkAddress = reader.ReadInt64("chunk address");
            firstChunk = i == 0 ? chunkAddress : firstChunk;
            if (chunks is not null && chunkAddress >= beginAddress && !chunks.Remove(chunkAddress))
            {
                throw new SpoolCorruptException(address, $"message {id} references a body chunk at {chunkAddress} that is not a chunk earlier in the log");
            }
        }

        // Shared strings: these repeat across a bulk queue, and a rebuild of millions of messages keeps them all.
        string sender = SharedStrings.Envelope.Get(reader.ReadStringBytes("sender"));
        ReadOnlySpan<byte> senderParameters = reader.ReadStringBytes("sender parameters");
        string parameters = SharedStrings.Envelope.Get(senderParameters);
        string clientAddress = SharedStrings.ClientAddresses.Get(reader.ReadStringBytes("client address"));
        string heloName = reader.ReadString("helo name");
        string authenticatedUser = reader.ReadString("authenticated user");
        string protocol = reader.ReadString("protocol");
        string? pool = (flags & FlagPool) != 0 ? reader.ReadString("pool") : null;
        var recipients = new SpooledRecipient[recipientCount];
        for (int i = 0; i < recipients.Length; i++)
        {
            recipients[i] = new SpooledRecipient(reader.ReadString("recipient"), SharedStrings.Envelope.Get(reader.ReadStringBytes("recipient parameters")));
        }

        int inlineOffset = reader.Position;
        reader.ReadBytes(inlineLength, "inline body");
        if (reader.Position != record.Length)
        {
            throw new SpoolCorruptException(address, $"{record.Length - reader.Position} unexplained bytes after the envelope fields");
        }

        // A record from before the typed bits has its flags only as text: derived here, once, as the queue used to.
        // Writers keep bits and text in agreement, so a record with neither bit derives nothing new from its text.
        EnvelopeFlags esmtp = (flags & EsmtpFlags) != 0 ? EsmtpFromBits(flags) : FlagsFromParameters(senderParameters);
        return new EnvelopeFields(id, DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(record[ReceivedOffset..])),
            bodyLength, esmtp, chunkCount, firstChunk, sender, parameters, clientAddress, heloName,
            (flags & FlagAuthenticated) != 0 ? authenticatedUser : null, protocol, pool, recipients, inlineOffset, inlineLength);
    }

    /// <summary>
    /// Where the body of the envelope record is, from its fixed part alone (a delivery attempt: no strings are read or
    /// allocated). The record was parsed whole when it was committed or scanned, and FasterLog checksums every entry;
    /// the fixed part is checked again here, and the caller checks the id and length against what it expects.
    /// </summary>
    public static BodyLayout LocateBody(ReadOnlySpan<byte> record, long address)
    {
        (SpoolMessageId id, long bodyLength, _, int chunkCount, uint recipientCount, int inlineLength) = ReadFixed(record, address);
        long minimum = FixedLength + (8L * chunkCount) + (4 * AlwaysPresentStrings) + (8L * recipientCount) + inlineLength;
        if (minimum > record.Length)
        {
            throw new SpoolCorruptException(address, "envelope counts are impossible for its length");
        }

        // The inline tail is the last field of the record.
        return new BodyLayout(id, bodyLength, chunkCount, record.Length - inlineLength, inlineLength);
    }

    /// <summary>The log address of body chunk <paramref name="index"/> of a record checked by <see cref="Parse"/> or <see cref="LocateBody"/>.</summary>
    public static long ChunkAddress(ReadOnlySpan<byte> record, int index) =>
        BinaryPrimitives.ReadInt64LittleEndian(record[(ChunkTableOffset + (8 * index))..]);

    /// <summary>Overwrites the address of body chunk <paramref name="index"/> (copy-forward re-appends the chunks).</summary>
    public static void SetChunkAddress(Span<byte> record, int index, long chunkAddress) =>
        BinaryPrimitives.WriteInt64LittleEndian(record[(ChunkTableOffset + (8 * index))..], chunkAddress);

    /// <summary>
    /// The flags that MAIL FROM parameter text declares: the SMTPUTF8 keyword and BODY=8BITMIME, each a whole
    /// space-separated token, ASCII case-insensitive. For records written before the typed bits, and for writers given
    /// only the text.
    /// </summary>
    public static EnvelopeFlags FlagsFromParameters(ReadOnlySpan<byte> parameters)
    {
        EnvelopeFlags flags = EnvelopeFlags.None;
        foreach (Range range in parameters.Split((byte)' '))
        {
            ReadOnlySpan<byte> token = parameters[range];
            if (Ascii.EqualsIgnoreCase(token, "SMTPUTF8"u8))
            {
                flags |= EnvelopeFlags.SmtpUtf8;
            }
            else if (Ascii.EqualsIgnoreCase(token, "BODY=8BITMIME"u8))
            {
                flags |= EnvelopeFlags.EightBitMime;
            }
        }

        return flags;
    }

    private static uint FlagsOf(in EnvelopeContent content) =>
        (content.AuthenticatedUser is null ? 0u : FlagAuthenticated)
        | (content.Pool is null ? 0u : FlagPool)
        | ((content.Flags & EnvelopeFlags.SmtpUtf8) != 0 ? FlagSmtpUtf8 : 0u)
        | ((content.Flags & EnvelopeFlags.EightBitMime) != 0 ? FlagEightBitMime : 0u);

    private static EnvelopeFlags EsmtpFromBits(uint flags) =>
        ((flags & FlagSmtpUtf8) != 0 ? EnvelopeFlags.SmtpUtf8 : EnvelopeFlags.None)
        | ((flags & FlagEightBitMime) != 0 ? EnvelopeFlags.EightBitMime : EnvelopeFlags.None);

    private static (SpoolMessageId Id, long BodyLength, uint Flags, int ChunkCount, uint RecipientCount, int InlineLength) ReadFixed(ReadOnlySpan<byte> record, long address)
    {
        if (SpoolRecord.ReadHeader(record, address) != RecordKind.Envelope)
        {
            throw new SpoolCorruptException(address, "expected an envelope record");
        }

        var id = new SpoolMessageId(BinaryPrimitives.ReadUInt64LittleEndian(record[IdOffset..]));
        long receivedMs = BinaryPrimitives.ReadInt64LittleEndian(record[ReceivedOffset..]);
        long bodyLength = BinaryPrimitives.ReadInt64LittleEndian(record[BodyLengthOffset..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(record[FlagsOffset..]);
        uint chunkCount = BinaryPrimitives.ReadUInt32LittleEndian(record[ChunkCountOffset..]);
        uint recipientCount = BinaryPrimitives.ReadUInt32LittleEndian(record[RecipientCountOffset..]);
        uint inlineLength = BinaryPrimitives.ReadUInt32LittleEndian(record[InlineLengthOffset..]);
        if ((flags & ~KnownFlags) != 0)
        {
            throw new SpoolCorruptException(address, $"unknown envelope flags 0x{flags:X}");
        }

        if (bodyLength < 0 || chunkCount > (uint)record.Length / 8 || recipientCount > (uint)record.Length / 8 || inlineLength > (uint)record.Length)
        {
            throw new SpoolCorruptException(address, "envelope counts are impossible for its length");
        }

        if (receivedMs is < 0 or > MaxReceivedUnixMs)
        {
            throw new SpoolCorruptException(address, $"received time {receivedMs} is out of range");
        }

        return (id, bodyLength, flags, (int)chunkCount, recipientCount, (int)inlineLength);
    }
}

/// <summary>What an envelope record holds, as the writer has it: spans over its buffers, nothing copied.</summary>
internal readonly ref struct EnvelopeContent
{
    public required SpoolMessageId Id { get; init; }

    public required long ReceivedAtUnixMs { get; init; }

    /// <summary>Chunks and inline tail together.</summary>
    public required long BodyLength { get; init; }

    public required EnvelopeFlags Flags { get; init; }

    public required ReadOnlySpan<long> ChunkAddresses { get; init; }

    /// <summary>UTF-8 reverse-path; empty for the null sender.</summary>
    public required ReadOnlySpan<byte> Sender { get; init; }

    public required ReadOnlySpan<byte> SenderParameters { get; init; }

    public required string ClientAddress { get; init; }

    public required string HeloName { get; init; }

    public required string? AuthenticatedUser { get; init; }

    public required string Protocol { get; init; }

    public required string? Pool { get; init; }

    /// <summary>Every recipient's address and then its parameters, back to back, in <see cref="Recipients"/> order.</summary>
    public required ReadOnlySpan<byte> RecipientBytes { get; init; }

    public required ReadOnlySpan<(int AddressLength, int ParametersLength)> Recipients { get; init; }

    /// <summary>The last partial chunk of the body, stored inside the envelope.</summary>
    public required ReadOnlySpan<byte> Inline { get; init; }
}

/// <summary>A parsed envelope record. Chunk addresses stay in the record (<see cref="EnvelopeRecord.ChunkAddress"/>).</summary>
internal readonly record struct EnvelopeFields(
    SpoolMessageId Id,
    DateTimeOffset ReceivedAt,
    long BodyLength,
    EnvelopeFlags Flags,
    int ChunkCount,
    long FirstChunkAddress,
    string Sender,
    string SenderParameters,
    string ClientAddress,
    string HeloName,
    string? AuthenticatedUser,
    string Protocol,
    string? Pool,
    SpooledRecipient[] Recipients,
    int InlineOffset,
    int InlineLength);

/// <summary>Where an envelope record's body is: <see cref="ChunkCount"/> chunks from its chunk table, then the inline tail.</summary>
internal readonly record struct BodyLayout(SpoolMessageId Id, long BodyLength, int ChunkCount, int InlineOffset, int InlineLength);
