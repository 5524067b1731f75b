using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastMta.Api.Contracts;

/// <summary>
/// A JSON string that may be a whole message (raw <c>content</c>, an attachment's base64): unescaped into an array
/// of its own, not one rented from (and then kept by) the shared ArrayPool as <see cref="Utf8JsonReader.GetString"/>
/// does. Short strings take the usual path.
/// </summary>
internal sealed class LargeStringConverter : JsonConverter<string>
{
    private const int Large = 64 * 1024;
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"The JSON value could not be converted to {typeof(string)}: a string is expected.");
        }
        long escaped = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (escaped < Large)
        {
            return reader.GetString();
        }
        byte[] utf8 = GC.AllocateUninitializedArray<byte>((int)escaped); // unescaping never makes it longer
        int written = reader.CopyString(utf8);
        try
        {
            return Strict.GetString(utf8, 0, written);
        }
        catch (DecoderFallbackException e)
        {
            throw new JsonException("The JSON string is not valid UTF-8.", e);
        }
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
