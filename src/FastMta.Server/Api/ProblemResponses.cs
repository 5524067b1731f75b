using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace FastMta.Server.Api;

/// <summary>
/// One shape for every HTTP error the application answers: RFC 9457 <c>application/problem+json</c> with a detail
/// that names the problem. Endpoints write their own problems; this covers what the framework would otherwise
/// answer with an empty body: a query or route value that does not bind (<c>?limit=abc</c>), a request body whose
/// framing is broken (a malformed chunk), an unknown path or method (404, 405), and an unhandled exception (500).
/// What it cannot cover: Kestrel refuses some requests before any application code runs (a malformed request line
/// or header, <c>%00</c> in the path, an invalid or duplicated Content-Length) and answers those itself with an
/// empty 400 and <c>Connection: close</c>; no middleware sees them.
/// </summary>
internal static partial class ProblemResponses
{
    public static IServiceCollection AddProblemResponses(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Minimal APIs answer a parameter they cannot bind with an empty 400 and a Debug log line; thrown instead,
        // the BadHttpRequestException reaches the handler below with a message naming the parameter and the value.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(async context =>
        {
            HttpContext http = context.HttpContext;
            int status = http.Response.StatusCode;
            http.RequestServices.GetRequiredService<ApiMetrics>().Refused(status, "no_endpoint");
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new ProblemDetails { Status = status, Detail = DescribeStatus(http.Request, status) },
            });
        });
        return app;
    }

    private static string DescribeStatus(HttpRequest request, int status) => status switch
    {
        StatusCodes.Status404NotFound => "No endpoint serves this path (GET /openapi/v1.json lists them).",
        StatusCodes.Status405MethodNotAllowed => $"This path does not take {request.Method} (GET /openapi/v1.json lists the methods).",
        _ => $"The request was answered {status}.",
    };

    private sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> log, ApiMetrics metrics)
        : IExceptionHandler
    {
        public ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
        {
            int status;
            string detail;
            if (exception is BadHttpRequestException bad)
            {
                // The client's mistake (an unparsable query value, a broken body): its message says which.
                status = bad.StatusCode;
                detail = bad.Message;
                metrics.Refused(status, "invalid_request");
                LogBadRequest(log, http.Request.Method, http.Request.Path, status, bad.Message);
            }
            else
            {
                status = StatusCodes.Status500InternalServerError;
                detail = "The server failed to answer this request; its log has the error.";
                metrics.Refused(status, "exception");
                LogUnhandled(log, exception, http.Request.Method, http.Request.Path);
            }
            http.Response.StatusCode = status;
            return problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                Exception = exception,
                ProblemDetails = new ProblemDetails { Status = status, Detail = detail },
            });
        }
    }

    [LoggerMessage(EventId = 6400, Level = LogLevel.Debug, Message = "HTTP {Method} {Path} refused with {Status}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string method, PathString path, int status, string reason);

    [LoggerMessage(EventId = 6401, Level = LogLevel.Error, Message = "HTTP {Method} {Path} failed with an unhandled exception; answered 500")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, PathString path);
}
