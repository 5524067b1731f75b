using System.Buffers.Binary;

namespace FastMta.Spool;

// ON-DISK RECORD FORMAT, version 1. Every FasterLog entry written by the spool is one record. All integers are
// little-endian. FasterLog adds its own 12-byte entry header in front (8-byte XOR checksum + 4-byte length,
// LogChecksum = PerEntry) and pads entries to 4 bytes; that header is FASTER's and is not described here.
//
// Common header (8 bytes), on every record:
//   0  u16  magic = 0x4D46 (bytes 'F' 'M')
//   2  u8   format version = 1
//   3  u8   kind (RecordKind; explicit values, append-only, never reused)
//   4  u32  record length in bytes, header included; must equal the FasterLog entry length
//
// Kind 1, BodyChunk: one chunk of a message body, appended while the body is received.
//   8  u64  message id
//  16  u32  sequence number of the chunk within the message (0, 1, 2, ...)
//  20  u32  reserved, 0
//  24  ...  body bytes (record length - 24); the writer emits full chunks of SpoolOptions.ChunkSize, except when an
//           envelope would not fit its page, in which case the last partial chunk is written as a chunk too. Readers
//           take the length from the record, never from the current options.
//
// Kind 2, Envelope: the message. A message exists iff its envelope is committed; BodyChunk records that no committed
// envelope references are orphans (RSET, client gone) and are skipped by readers.
//   8  u64  message id
//  16  i64  received time, unix milliseconds
//  24  i64  total body length (chunks + inline tail)
//  32  u32  flags: bit 0 = an authenticated user is present (else AUTH was not used); bit 1 = an egress pool is
//           named (added compatibly: records without it read as before); bit 2 = SMTPUTF8 and bit 3 = BODY=8BITMIME
//           were declared (added compatibly: a record with neither bit has its flags read from the sender
//           parameters' text, as before the bits existed; writers set them in agreement with that text); other bits
//           must be 0. Layout, writing and parsing of this record: EnvelopeRecord.cs.
//  36  u32  chunk count N
//  40  u32  recipient count R
//  44  u32  inline body length L
//  48  i64 x N  log address of each BodyChunk, in sequence order
//  then strings, each u32 byte length + UTF-8 bytes, in this order:
//        sender (empty = null reverse-path), sender parameters, client address, HELO name, authenticated user
//        (empty when flag bit 0 is clear), protocol (e.g. "ESMTPS"), and only when flag bit 1 is set: the egress pool
//        the message asked for (the X-FastMta-Pool header or the HTTP API's pool field)
//  then R x (recipient address, recipient parameters), same string encoding
//  then L bytes: the last partial chunk of the body, inline (small messages are therefore a single record)
//
// Kind 3, RecipientState: outcomes of some recipients of one message, appended by the queue manager after each
// delivery attempt. The last record for a recipient wins; a recipient with none is pending.
//   8  i64  log address of the message's Envelope (or CopyForward) record
//  16  u32  entry count N
//  20  u32  reserved, 0
//  24  N x 24 bytes: u32 recipient index, u8 status (RecipientStatus: 1 delivered, 2 deferred, 3 failed),
//                    3 bytes reserved (0), u32 attempts so far, u32 reserved (0), i64 next attempt unix ms
//
// Kind 4, CopyForward: a long-lived message re-appended near the tail so that truncation is not pinned by the old
// segments. Its body chunks are appended again first (kind 1, same message id). Readers treat the original address
// as gone from then on.
//   8  i64  log address of the record this one replaces (Envelope or an earlier CopyForward)
//  16  u32  entry count N of carried recipient states (same 24-byte entries as kind 3)
//  20  u32  reserved, 0
//  24  N x 24 bytes of recipient states
//  then a complete kind 2 Envelope record (its own header included) whose chunk addresses are the new ones
//
// A new kind gets the next unused number; a changed layout gets a new version and readers keep reading the old one.
internal enum RecordKind : byte
{
    // 0 is never a valid kind: zeroed bytes must not parse as a record.
    BodyChunk = 1,
    Envelope = 2,
    RecipientState = 3,
    CopyForward = 4,
}

internal static class SpoolRecord
{
    public const ushort Magic = 0x4D46;
    public const byte FormatVersion = 1;
    public const int HeaderLength = 8;
    public const int ChunkHeaderLength = 24;
    public const int StateHeaderLength = 24;
    public const int StateEntryLength = 24;

    public static void WriteHeader(Span<byte> destination, RecordKind kind, int recordLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Magic);
        destination[2] = FormatVersion;
        destination[3] = (byte)kind;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)recordLength);
    }

    public static void WriteChunkHeader(Span<byte> destination, SpoolMessageId id, uint sequence, int bodyLength)
    {
        WriteHeader(destination, RecordKind.BodyChunk, ChunkHeaderLength + bodyLength);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], id.Value);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], 0);
    }

    /// <summary>Validates the common header of a record read from the log and returns its kind.</summary>
    public static RecordKind ReadHeader(ReadOnlySpan<byte> record, long address)
    {
        if (record.Length < HeaderLength)
        {
            throw new SpoolCorruptException(address, $"entry of {record.Length} bytes is shorter than a record header");
        }

        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(record);
        if (magic != Magic)
        {
            throw new SpoolCorruptException(address, $"bad magic 0x{magic:X4}");
        }

        if (record[2] != FormatVersion)
        {
            throw new SpoolCorruptException(address, $"unknown format version {record[2]}");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
        if (length != (uint)record.Length)
        {
            throw new SpoolCorruptException(address, $"record length {length} does not match entry length {record.Length}");
        }

        var kind = (RecordKind)record[3];
        switch (kind)
        {
            case RecordKind.BodyChunk:
                if (record.Length < ChunkHeaderLength)
                {
                    throw new SpoolCorruptException(address, "body chunk shorter than its header");
                }

                return kind;
            case RecordKind.Envelope:
                if (record.Length < EnvelopeRecord.FixedLength)
                {
                    throw new SpoolCorruptException(address, "envelope shorter than its fixed part");
                }

                return kind;
            case RecordKind.RecipientState:
            case RecordKind.CopyForward:
                if (record.Length < StateHeaderLength
                    || (record.Length - StateHeaderLength) / StateEntryLength < BinaryPrimitives.ReadUInt32LittleEndian(record[16..]))
                {
                    throw new SpoolCorruptException(address, $"{kind} record too short for its entry count");
                }

                return kind;
            default:
                throw new SpoolCorruptException(address, $"unknown record kind {record[3]}");
        }
    }

    /// <summary>Writes the 24-byte header of a RecipientState or CopyForward record.</summary>
    public static void WriteStateHeader(Span<byte> destination, RecordKind kind, int recordLength, long address, int count)
    {
        WriteHeader(destination, kind, recordLength);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], address);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], (uint)count);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], 0);
    }

    public static void WriteStateEntry(Span<byte> destination, in RecipientState state)
    {
        destination[..StateEntryLength].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)state.RecipientIndex);
        destination[4] = (byte)state.Status;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)state.Attempts);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], state.NextAttemptUnixMs);
    }

    /// <summary>Reads the entries of a validated RecipientState or CopyForward record.</summary>
    public static RecipientState[] ReadStateEntries(ReadOnlySpan<byte> record, long address)
    {
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
        var states = new RecipientState[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> entry = record.Slice(StateHeaderLength + (i * StateEntryLength), StateEntryLength);
            var status = (RecipientStatus)entry[4];
            if (status is not (RecipientStatus.Delivered or RecipientStatus.Deferred or RecipientStatus.Failed))
            {
                throw new SpoolCorruptException(address, $"unknown recipient status {entry[4]}");
            }

            uint index = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            uint attempts = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);
            if (index > int.MaxValue || attempts > int.MaxValue)
            {
                throw new SpoolCorruptException(address, "recipient state index or attempt count out of range");
            }

            states[i] = new RecipientState((int)index, status, (int)attempts, BinaryPrimitives.ReadInt64LittleEndian(entry[16..]));
        }

        return states;
    }

    /// <summary>Writes a length-prefixed byte string; returns the bytes written.</summary>
    public static int WriteBytes(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)value.Length);
        value.CopyTo(destination[4..]);
        return 4 + value.Length;
    }

    /// <summary>Writes a length-prefixed UTF-8 string whose byte count is already known; returns the bytes written.</summary>
    public static int WriteString(Span<byte> destination, string? value, int byteCount)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)byteCount);
        if (byteCount > 0)
        {
            System.Text.Encoding.UTF8.GetBytes(value, destination.Slice(4, byteCount));
        }

        return 4 + byteCount;
    }

    /// <summary>Sequential reader over an envelope that throws <see cref="SpoolCorruptException"/> on overrun.</summary>
    public ref struct FieldReader
    {
        private readonly ReadOnlySpan<byte> _record;
        private readonly long _address;
        private int _position;

        public FieldReader(ReadOnlySpan<byte> record, long address, int position)
        {
            _record = record;
            _address = address;
            _position = position;
        }

        public readonly int Position => _position;

        public ReadOnlySpan<byte> ReadBytes(int count, string field)
        {
            if (count < 0 || count > _record.Length - _position)
            {
                throw new SpoolCorruptException(_address, $"field '{field}' of {count} bytes overruns the record");
            }

            ReadOnlySpan<byte> value = _record.Slice(_position, count);
            _position += count;
            return value;
        }

        public uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4, field));

        public long ReadInt64(string field) => BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8, field));

        /// <summary>The UTF-8 bytes of a length-prefixed string (to look up a shared string without allocating).</summary>
        public ReadOnlySpan<byte> ReadStringBytes(string field)
        {
            uint length = ReadUInt32(field);
            if (length > int.MaxValue)
            {
                throw new SpoolCorruptException(_address, $"field '{field}' has impossible length {length}");
            }

            return ReadBytes((int)length, field);
        }

        public string ReadString(string field)
        {
            uint length = ReadUInt32(field);
            if (length > int.MaxValue)
            {
                throw new SpoolCorruptException(_address, $"field '{field}' has impossible length {length}");
            }

            ReadOnlySpan<byte> bytes = ReadBytes((int)length, field);
            return bytes.Length == 0 ? string.Empty : System.Text.Encoding.UTF8.GetString(bytes);
        }
    }
}
