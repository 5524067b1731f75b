using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastMta.Cli;

/// <summary>
/// HTTP to the admin API. A 2xx answer comes back as its raw JSON text (printed as-is with --json, or read into the
/// FastMta.Api.Contracts records); anything else becomes <see cref="ServerRefusedException"/> carrying the RFC 9457 problem's title
/// and detail, and a transport failure becomes <see cref="ServerUnreachableException"/>. It does not retry: an operator
/// command that failed is reported, not repeated behind the operator's back (bounce and delete are not idempotent in
/// what they report).
/// </summary>
internal sealed class AdminClient : IDisposable
{
    // A request carries only the fields the command sets: the server reads an absent field as not given.
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;

    public AdminClient(Uri server, string? apiKey, TimeSpan timeout)
    {
        Server = server;
        Timeout = timeout;
        _http = new HttpClient { BaseAddress = server, Timeout = timeout };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("fastmta-cli", "1.0"));
        if (!string.IsNullOrEmpty(apiKey))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
    }

    public Uri Server { get; }

    public TimeSpan Timeout { get; }

    public Task<string> GetAsync(string pathAndQuery, CancellationToken ct) => SendAsync(HttpMethod.Get, pathAndQuery, null, ct);

    public Task<string> PostAsync(string pathAndQuery, CancellationToken ct) => SendAsync(HttpMethod.Post, pathAndQuery, null, ct);

    public Task<string> PostJsonAsync<T>(string pathAndQuery, T body, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, pathAndQuery, JsonContent.Create(body, options: Json), ct);

    public static T Read<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Json) ?? throw new JsonException($"The server answered null where {typeof(T).Name} was expected.");

    /// <summary>Builds "path?a=1&amp;b=x" from the parameters that have a value, escaping each.</summary>
    public static string Query(string path, params (string Name, object? Value)[] parameters)
    {
        string query = string.Join('&', parameters
            .Where(p => p.Value is not null && p.Value.ToString() is { Length: > 0 })
            .Select(p => $"{p.Name}={Uri.EscapeDataString(Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture)!)}"));
        return query.Length == 0 ? path : $"{path}?{query}";
    }

    private async Task<string> SendAsync(HttpMethod method, string pathAndQuery, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, pathAndQuery.TrimStart('/')) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new ServerUnreachableException($"cannot connect to {Server}: {Describe(ex)}", ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new ServerUnreachableException(
                $"no answer from {Server} within {Timeout.TotalSeconds:0.#} s (raise it with --timeout)", ex);
        }

        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode)
            {
                return body;
            }

            throw ServerRefusedException.From(response, body);
        }
    }

    // "Connection refused (127.0.0.1:8025)" reads better than the exception's own message chain.
    private static string Describe(HttpRequestException ex) => ex.InnerException switch
    {
        SocketException socket => socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused (is the server running, and is this its Mta:Http:Listen address?)",
            SocketError.HostNotFound or SocketError.NoData => "host not found",
            _ => socket.Message,
        },
        { } inner => inner.Message,
        null => ex.Message,
    };

    public void Dispose() => _http.Dispose();
}

/// <summary>The server could not be reached or did not answer in time (exit code 3).</summary>
internal sealed class ServerUnreachableException(string message, Exception inner) : Exception(message, inner);

/// <summary>The server answered 4xx or 5xx (exit code 1). Message: the problem's title and detail, or the status line.</summary>
internal sealed class ServerRefusedException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    public static ServerRefusedException From(HttpResponseMessage response, string body)
    {
        int code = (int)response.StatusCode;
        string status = $"{code} {response.ReasonPhrase}".TrimEnd();
        var message = new System.Text.StringBuilder(status);
        if (TryReadProblem(body, out string? title, out string? detail, out List<string> errors))
        {
            if (title is { Length: > 0 } && !status.EndsWith(title, StringComparison.OrdinalIgnoreCase))
            {
                message.Append(": ").Append(title);
            }

            if (detail is { Length: > 0 })
            {
                message.Append(": ").Append(detail);
            }

            foreach (string error in errors)
            {
                message.Append("\n  ").Append(error);
            }
        }
        else if (body.Trim() is { Length: > 0 } text)
        {
            message.Append(": ").Append(text.Length > 500 ? text[..500] + "…" : text);
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            message.Append("\n  (the admin API wants an API key: --api-key or FASTMTA_API_KEY)");
        }

        return new ServerRefusedException(response.StatusCode, message.ToString());
    }

    // RFC 9457: title and detail; ASP.NET Core's validation problems add "errors": {field: [messages]}.
    private static bool TryReadProblem(string body, out string? title, out string? detail, out List<string> errors)
    {
        title = detail = null;
        errors = [];
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            title = json.RootElement.TryGetProperty("title", out JsonElement t) ? t.GetString() : null;
            detail = json.RootElement.TryGetProperty("detail", out JsonElement d) ? d.GetString() : null;
            if (json.RootElement.TryGetProperty("errors", out JsonElement e) && e.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty field in e.EnumerateObject())
                {
                    errors.AddRange(field.Value.EnumerateArray().Select(m => $"{field.Name}: {m.GetString()}"));
                }
            }

            return title is not null || detail is not null || errors.Count > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
