using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.OpenApi;

namespace FastMta.Server.Api;

/// <summary>
/// The HTTP injection API: POST /api/v1/messages (one message) and POST /api/v1/messages/batch (up to 100).
/// Bodies are read here rather than bound by the framework so the request size limit can be raised for these
/// endpoints only, and every failure (415, malformed JSON, 413) answers with a problem body naming the field.
/// </summary>
internal static class InjectionEndpoints
{
    public const int MaxBatch = 100;
    private const string Single = "InjectMessage";
    private const string Batch = "InjectMessageBatch";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        // A misspelt field ("recipient") is an error, not a silently different message.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // {"from":"a@x","from":"b@y"} is ambiguous (parsers disagree on which wins): refused, as RFC 8259 4 allows.
        AllowDuplicateProperties = false,
    };

    public static RouteGroupBuilder MapInjectionApi(this IEndpointRouteBuilder app)
    {
        WarnIfOpen(app.ServiceProvider);
        RouteGroupBuilder api = app.MapGroup("/api/v1/messages").WithTags("Injection").RequireApiKey().LimitConcurrentInjections();

        api.MapPost("", InjectAsync)
            .WithName(Single)
            .WithSummary("Queues one message (raw RFC 5322 content or structured fields).")
            .WithDescription("202 once the message is durably spooled, as SMTP's 250. Authorization: Bearer <API key> when Mta:Http:ApiKeys are configured.")
            .DescribeJsonBody<InjectionRequest>()
            .Produces<InjectionAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesValidationProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapPost("/batch", InjectBatchAsync)
            .WithName(Batch)
            .WithSummary($"Queues up to {MaxBatch} messages, each validated and spooled independently.")
            .WithDescription("200 with one result per message (status 202 with an id, or 4xx/503 with the reason). The whole request shares one body size limit.")
            .DescribeJsonBody<BatchInjectionRequest>()
            .Produces<BatchInjectionResponse>(StatusCodes.Status200OK)
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesValidationProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status415UnsupportedMediaType);
        return api;
    }

    private static async Task<IResult> InjectAsync(HttpContext http, MtaSettings settings, InjectionSpooler spooler, ApiMetrics metrics)
    {
        var (request, failure) = await ReadJsonAsync<InjectionRequest>(http, settings);
        if (failure is not null)
        {
            metrics.Request(Single, failure.Value.Reason);
            return failure.Value.Result;
        }
        BatchItemResult result = await SubmitAsync(http, settings, spooler, metrics, request, index: 0);
        metrics.Request(Single, Reason(result.Status));
        return result.Status switch
        {
            StatusCodes.Status202Accepted => TypedResults.Json(new InjectionAccepted(result.Id!, result.Recipients!.Value, result.Tags),
                statusCode: StatusCodes.Status202Accepted),
            StatusCodes.Status503ServiceUnavailable => Unavailable(http, result.Error),
            _ => Problem(result.Status, result.Status == StatusCodes.Status413PayloadTooLarge ? "The message is too large." : "The message is invalid.",
                result.Errors!),
        };
    }

    private static async Task<IResult> InjectBatchAsync(HttpContext http, MtaSettings settings, InjectionSpooler spooler, ApiMetrics metrics)
    {
        var (batch, failure) = await ReadJsonAsync<BatchInjectionRequest>(http, settings);
        if (failure is not null)
        {
            metrics.Request(Batch, failure.Value.Reason);
            return failure.Value.Result;
        }
        if (batch!.Messages is not { Count: > 0 } messages || messages.Count > MaxBatch)
        {
            metrics.Request(Batch, "invalid");
            return Problem(StatusCodes.Status400BadRequest, "The batch is invalid.",
                new Dictionary<string, string[]> { ["messages"] = [$"required: 1 to {MaxBatch} messages"] });
        }
        // Concurrently: each message waits for a spool group commit, and they share the same commits.
        BatchItemResult[] results = await Task.WhenAll(messages.Select((m, i) => SubmitAsync(http, settings, spooler, metrics, m, i)));
        metrics.Request(Batch, results.All(r => r.Status == StatusCodes.Status202Accepted) ? "accepted" : "partial");
        return TypedResults.Ok(new BatchInjectionResponse(results));
    }

    // Validates and spools one message; the batch result shape doubles as the single endpoint's outcome.
    private static async Task<BatchItemResult> SubmitAsync(HttpContext http, MtaSettings settings, InjectionSpooler spooler,
        ApiMetrics metrics, InjectionRequest? request, int index)
    {
        InjectionError? error = InjectionValidator.Validate(request, settings.Inbound.MaxRecipients, settings.Inbound.MaxMessageBytes,
            out ValidatedMessage? message);
        if (error is null)
        {
            SpoolOutcome outcome = await spooler.SpoolAsync(message!, http.Connection.RemoteIpAddress,
                ApiKeyAuthentication.CallerName(http), http.RequestAborted);
            if (outcome.Id is not null)
            {
                metrics.Accepted(message!.Recipients.Count);
                return new BatchItemResult(index, StatusCodes.Status202Accepted, outcome.Id, message.Recipients.Count, request!.Tags);
            }
            if (outcome.Unavailable)
            {
                metrics.Message("spool_unavailable");
                return new BatchItemResult(index, StatusCodes.Status503ServiceUnavailable,
                    Error: outcome.UnavailableDetail ?? "The spool is not accepting messages now; retry later.");
            }
            error = outcome.Error!;
        }
        metrics.Message(Reason(error.Status));
        return new BatchItemResult(index, error.Status, Error: error.Detail, Errors: error.Errors);
    }

    private readonly record struct ReadFailure(IResult Result, string Reason);

    private static async Task<(T? Value, ReadFailure? Failure)> ReadJsonAsync<T>(HttpContext http, MtaSettings settings) where T : class
    {
        if (!http.Request.HasJsonContentType())
        {
            return (null, new ReadFailure(Problem(StatusCodes.Status415UnsupportedMediaType, "The request body must be JSON.",
                new Dictionary<string, string[]> { ["Content-Type"] = ["must be application/json"] }), "unsupported_media_type"));
        }
        if (ApiInput.TryRefuseCharset(http.Request.ContentType, out IDictionary<string, string[]>? charset))
        {
            return (null, new ReadFailure(Problem(StatusCodes.Status400BadRequest, "The request body must be UTF-8.", charset), "invalid"));
        }
        // Mta:Http:MaxRequestBodySize (by default 1.4 x the message limit + 64 KiB: base64 and JSON escaping).
        long limit = settings.Injection.MaxRequestBodySize;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }
        ReadFailure TooLarge() => new(Problem(StatusCodes.Status413PayloadTooLarge, "The request body is too large.",
            new Dictionary<string, string[]> { ["body"] = [$"the request body may be at most {limit} bytes"] }), "too_large");
        if (http.Request.ContentLength > limit)
        {
            return (null, TooLarge());
        }
        try
        {
            T? value = await RequestBody.DeserializeAsync<T>(http.Request, Json, http.RequestAborted);
            return value is null
                ? (null, new ReadFailure(Problem(StatusCodes.Status400BadRequest, "The request body is invalid.",
                    new Dictionary<string, string[]> { ["$"] = ["must be a JSON object"] }), "invalid"))
                : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, new ReadFailure(Problem(StatusCodes.Status400BadRequest, "The request body is not valid JSON for this endpoint.",
                new Dictionary<string, string[]> { [ex.Path ?? "$"] = [ex.Message] }), "invalid"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge());
        }
    }

    // The request body in the OpenAPI document. Not .Accepts<T>(): that makes routing answer 415 itself, with an
    // empty body, where this API promises a problem body naming the Content-Type.
    private static RouteHandlerBuilder DescribeJsonBody<T>(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken) },
                },
            };
        });

    private static string Reason(int status) => status switch
    {
        StatusCodes.Status202Accepted => "accepted",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status503ServiceUnavailable => "spool_unavailable",
        _ => "invalid",
    };

    private static IResult Problem(int status, string title, IDictionary<string, string[]> errors) =>
        Results.ValidationProblem(errors, detail: string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")),
            statusCode: status, title: title, type: ProblemType(status));

    private static IResult Unavailable(HttpContext http, string? detail)
    {
        // Spool back-pressure and a full disk are temporary (SMTP's 451 4.3.0, 452 4.3.1): tell the client when to come back.
        http.Response.Headers.RetryAfter = "30";
        return Results.Problem(detail ?? "The spool is not accepting messages now; retry later.", statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Service unavailable", type: ProblemType(StatusCodes.Status503ServiceUnavailable));
    }

    private static string ProblemType(int status) => status switch
    {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        415 => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => "about:blank",
    };

    private static void WarnIfOpen(IServiceProvider services)
    {
        var settings = services.GetRequiredService<MtaSettings>();
        IPAddress address = settings.HttpEndpoint.Address;
        if (settings.ApiKeys.Count == 0 && !IPAddress.IsLoopback(address))
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger("FastMta.Server.Api").LogWarning(
                "Mta:Http:Listen {Endpoint} is not a loopback address and no Mta:Http:ApiKeys are configured: the HTTP API answers 403 to every non-loopback client",
                settings.HttpEndpoint);
        }
    }
}
