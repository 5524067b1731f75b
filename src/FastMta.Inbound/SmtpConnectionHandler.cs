using System.Net;
using Microsoft.AspNetCore.Connections;

namespace FastMta.Inbound;

// Kestrel connection middleware for one SMTP endpoint: admits the connection (Mta:Limits:MaxConnections, and
// MaxConnectionsPerClient for its address) and runs
// one SmtpSession on it. "When the task completes, the connection is complete" (Kestrel's ConnectionHandler contract).
public sealed class SmtpConnectionHandler(SmtpServerContext server) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        IPAddress? client = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        switch (server.TryEnterConnection(client, out IPAddress? countedAs, out int open))
        {
            case ConnectionAdmission.TooManyConnections:
                server.Metrics.ConnectionRefused();
                Log.ConnectionRefused(server.Logger, connection.RemoteEndPoint, open, server.Options.MaxConnections);
                await connection.Transport.Output.WriteAsync(Smtp.SmtpReplies.TooManyConnections.ToArray());
                return;
            case ConnectionAdmission.TooManyFromClient:
                server.Metrics.ConnectionRefusedPerClient();
                Log.ConnectionRefusedPerClient(server.Logger, connection.RemoteEndPoint, open);
                await connection.Transport.Output.WriteAsync(Smtp.SmtpReplies.TooManyConnectionsFromClient.ToArray());
                return;
        }
        server.Metrics.ConnectionOpened();
        Log.SessionStarted(server.Logger, connection.ConnectionId, connection.RemoteEndPoint);
        var session = new SmtpSession(connection, server);
        try
        {
            await session.RunAsync();
        }
        catch (Exception ex) when (ex is ConnectionResetException or IOException or OperationCanceledException)
        {
            // The client went away mid-session; its unfinished transaction is dropped by DisposeAsync (nothing is spooled).
            server.Metrics.SessionEnded("client_reset");
            Log.SessionEnded(server.Logger, connection.ConnectionId, "client_reset");
        }
        catch (Exception ex)
        {
            server.Metrics.SessionEnded("error");
            Log.SessionFailed(server.Logger, ex, connection.ConnectionId, connection.RemoteEndPoint);
        }
        finally
        {
            try
            {
                await session.DisposeAsync();
            }
            finally
            {
                // Given back even if tearing down TLS failed: a leaked count would hold the slot for ever.
                server.Metrics.ConnectionClosed();
                server.LeaveConnection(countedAs);
            }
        }
    }
}
