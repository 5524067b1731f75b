using System.Buffers;
using System.Text;
using FastMta.Intake;

namespace FastMta.Server.Api;

// The raw-content form: the client's RFC 5322 text goes to the spool as UTF-8 with every line end made CRLF
// (bare LF or CR would be refused by SMTP as smuggling material, CVE-2023-51764), in small pieces, never as one
// big byte array. Nothing else is touched, except a final CRLF when the text lacks one (DATA content always ends so).
// LF is a line end in JSON text, so it becomes CRLF; a CR not followed by LF is no line end in any convention, and
// the validator refuses it, as SMTP does (it would otherwise become a line break the sender did not write).
internal static class RawContent
{
    private const int PieceChars = 2048;

    /// <summary>True when the header section (up to the first empty line) has a field with this name.</summary>
    public static bool HasHeader(string content, string name)
    {
        int position = 0;
        while (position < content.Length)
        {
            int end = content.AsSpan(position).IndexOfAny('\r', '\n');
            ReadOnlySpan<char> line = end < 0 ? content.AsSpan(position) : content.AsSpan(position, end);
            if (line.IsEmpty)
            {
                return false; // end of the header section
            }
            if (line.Length > name.Length && line[name.Length] == ':' && line.StartsWith(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            if (end < 0)
            {
                return false;
            }
            position += end + (content[position + end] == '\r' && position + end + 1 < content.Length && content[position + end + 1] == '\n' ? 2 : 1);
        }
        return false;
    }

    public static bool HasBareCarriageReturn(string content)
    {
        for (int i = content.IndexOf('\r'); i >= 0; i = content.IndexOf('\r', i + 1))
        {
            if (i + 1 == content.Length || content[i + 1] != '\n')
            {
                return true;
            }
        }
        return false;
    }

    public static bool HasEightBit(string content) => !Ascii.IsValid(content);

    /// <summary>Writes the content into the transaction's content chain, piece by piece, moving full chunks to the log
    /// after each piece; the first refused move ends it, and its outcome is returned (accepted: all written).</summary>
    public static async ValueTask<IntakeResult> WriteAsync(string content, IntakeTransaction transaction, CancellationToken cancellationToken)
    {
        Encoder encoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetEncoder();
        char[] normalised = ArrayPool<char>.Shared.Rent(PieceChars * 2 + 2);
        try
        {
            bool afterCr = false;
            for (int offset = 0; offset < content.Length; offset += PieceChars)
            {
                ReadOnlySpan<char> piece = content.AsSpan(offset, Math.Min(PieceChars, content.Length - offset));
                int n = Normalise(piece, normalised, ref afterCr);
                bool last = offset + piece.Length >= content.Length;
                if (last && content[^1] is not ('\r' or '\n'))
                {
                    normalised[n++] = '\r';
                    normalised[n++] = '\n';
                }
                Encode(encoder, normalised.AsSpan(0, n), transaction.Content, flush: last);
                IntakeResult flushed = await transaction.FlushAsync(cancellationToken); // memory stays one chunk
                if (!flushed.IsAccepted)
                {
                    return flushed;
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(normalised);
        }
        return IntakeResult.Accepted(transaction.Id);
    }

    // CRLF stays, a bare LF or a bare CR becomes CRLF. `afterCr` carries a CR at the end of the previous piece.
    private static int Normalise(ReadOnlySpan<char> piece, Span<char> output, ref bool afterCr)
    {
        int n = 0;
        foreach (char c in piece)
        {
            if (c == '\n' && afterCr)
            {
                afterCr = false; // the CRLF was written with the CR
                continue;
            }
            afterCr = c == '\r';
            if (c is '\r' or '\n')
            {
                output[n++] = '\r';
                output[n++] = '\n';
            }
            else
            {
                output[n++] = c;
            }
        }
        return n;
    }

    private static void Encode(Encoder encoder, ReadOnlySpan<char> chars, IBufferWriter<byte> output, bool flush)
    {
        // The encoder keeps a high surrogate that ends one piece for the next, so pairs split across pieces survive.
        Span<byte> span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length));
        int written = encoder.GetBytes(chars, span, flush);
        output.Advance(written);
    }
}
