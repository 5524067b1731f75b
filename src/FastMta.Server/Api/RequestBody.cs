using System.Text.Json;

namespace FastMta.Server.Api;

/// <summary>
/// Reads an injection request's JSON body into one array of exactly its size and deserializes it from there.
/// JsonSerializer's stream reader grows a buffer rented from the shared ArrayPool until it holds the largest token
/// (a whole message's <c>content</c>), and the pool then keeps such arrays, per thread, long after the request: the
/// process grew by about 70 MiB for every further 16 MiB request. Here the request's large arrays are ordinary
/// garbage, and one request costs about 4 x its body while it is parsed (the body, the unescaped value, the UTF-16
/// string), 2 x while it is spooled.
/// </summary>
internal static class RequestBody
{
    private const int SmallBody = 64 * 1024;

    /// <summary>Reads the body (at most what the request's size limit lets through) and deserializes it.</summary>
    public static async Task<T?> DeserializeAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        byte[] body;
        int length;
        if (request.ContentLength is long declared && declared <= Array.MaxLength)
        {
            body = declared == 0 ? [] : GC.AllocateUninitializedArray<byte>((int)declared);
            length = 0;
            while (length < body.Length)
            {
                int read = await request.Body.ReadAsync(body.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break; // Kestrel reports a body shorter than its Content-Length itself
                }
                length += read;
            }
        }
        else
        {
            // Chunked: grow by doubling; Kestrel's MaxRequestBodySize stops it at the limit (413).
            body = new byte[SmallBody];
            length = 0;
            while (true)
            {
                if (length == body.Length)
                {
                    byte[] grown = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, 2L * body.Length));
                    body.AsSpan(0, length).CopyTo(grown);
                    body = grown;
                }
                int read = await request.Body.ReadAsync(body.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }
        }
        return JsonSerializer.Deserialize<T>(body.AsSpan(0, length), options);
    }
}
