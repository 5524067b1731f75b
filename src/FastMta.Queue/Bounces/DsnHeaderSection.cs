using System.Buffers;

namespace FastMta.Queue;

/// <summary>
/// Cuts the header section (RFC 5322 §2.1: everything before the first empty line) out of a spooled message for the
/// text/rfc822-headers part of a DSN. Returning headers only is the point: a bounce must not carry the body back
/// (RFC 3462 §1, privacy and size), and a header section is bounded so a hostile message cannot inflate its bounce.
/// </summary>
internal static class DsnHeaderSection
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;
    private static ReadOnlySpan<byte> EmptyLine => "\r\n\r\n"u8;

    /// <summary>
    /// The header lines, each CRLF-terminated, without the empty line. A message with no empty line is all header
    /// section. When the section is longer than <paramref name="limit"/> it is cut after the last complete line that
    /// fits. Copies at most <paramref name="limit"/> + 2 bytes; does not parse or unfold the fields.
    /// </summary>
    public static byte[] Extract(in ReadOnlySequence<byte> message, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // Two bytes past the limit so an empty line that straddles it is still found.
        var window = message.Length > limit + 2 ? message.Slice(0, limit + 2) : message;
        var bytes = window.ToArray();
        var span = bytes.AsSpan();

        if (span.StartsWith(Crlf))
        {
            return [];
        }

        var end = span.IndexOf(EmptyLine);
        if (end >= 0 && end + 2 <= limit)
        {
            return bytes[..(end + 2)];
        }

        if (end < 0 && window.Length == message.Length && span.Length <= limit)
        {
            // No body at all: the whole message is its header section; complete a last line left without CRLF.
            return span.EndsWith(Crlf) ? bytes : [.. bytes, (byte)'\r', (byte)'\n'];
        }

        var fits = span[..Math.Min(span.Length, limit)];
        var lastLineEnd = fits.LastIndexOf(Crlf);
        return lastLineEnd < 0 ? [] : bytes[..(lastLineEnd + 2)];
    }
}
