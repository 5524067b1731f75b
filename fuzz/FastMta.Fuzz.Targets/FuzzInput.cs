namespace FastMta.Fuzz;

/// <summary>
/// How a target reads its input: four control bytes, then the payload. <c>[0]</c> is a target parameter (a line
/// limit, a size limit), <c>[1..2]</c> (little-endian) a split position taken modulo <c>payload length + 1</c>, and
/// <c>[3]</c> an arrival chunk size (<c>1 + value % 64</c>). Missing control bytes read as 0, so any input is valid,
/// and the payload is cut at <see cref="MaxPayload"/> octets to keep an execution fast.
/// </summary>
internal readonly ref struct FuzzInput
{
    public const int HeaderLength = 4;
    public const int MaxPayload = 16 * 1024;

    public FuzzInput(ReadOnlySpan<byte> input)
    {
        Parameter = input.Length > 0 ? input[0] : (byte)0;
        int split = (input.Length > 1 ? input[1] : 0) | ((input.Length > 2 ? input[2] : 0) << 8);
        Chunk = 1 + (input.Length > 3 ? input[3] : 0) % 64;
        Payload = input.Length > HeaderLength ? input[HeaderLength..] : default;
        if (Payload.Length > MaxPayload)
        {
            Payload = Payload[..MaxPayload];
        }
        Split = split % (Payload.Length + 1);
    }

    public byte Parameter { get; }

    /// <summary>A position in <see cref="Payload"/>, 0 to its length inclusive.</summary>
    public int Split { get; }

    /// <summary>Octets per arrival for the chunked arrival pattern, 1 to 64.</summary>
    public int Chunk { get; }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The payload as one part, split in two at <see cref="Split"/>, and in chunks of <see cref="Chunk"/>.</summary>
    public byte[][][] Patterns()
    {
        byte[] payload = Payload.ToArray();
        return [[payload], [payload[..Split], payload[Split..]], payload.Chunk(Chunk).ToArray()];
    }
}
