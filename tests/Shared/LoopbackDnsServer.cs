using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ars = ARSoft.Tools.Net.Dns;
using ArsName = ARSoft.Tools.Net.DomainName;

namespace FastMta.Tests.Shared;

/// <summary>
/// An authoritative-only DNS server on 127.0.0.1 (UDP and TCP on one OS-chosen port), built on ARSoft.Tools.Net, for
/// testing resolvers against real wire traffic. Unknown names get NXDOMAIN; a known name asked for a type it lacks gets
/// NOERROR with no answer (NODATA); names added with <see cref="AddServFail"/> get SERVFAIL for every type. Records can
/// be added while it runs. Counts every question by (name, type). Does no recursion, no CNAME chasing, no wildcards.
/// </summary>
public sealed class LoopbackDnsServer : IAsyncDisposable, IDisposable
{
    private readonly Ars.DnsServer _server;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Ars.DnsRecordBase>> _records = new(StringComparer.Ordinal);
    private readonly HashSet<string> _servFail = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, Ars.RecordType Type), int> _queries = new();
    private int _stopped;

    public LoopbackDnsServer()
    {
        // ARSoft's transports do not report the port they bound, so take one the OS hands out for UDP, release it and
        // bind both transports to it; retry if another process took it in between (Start throws SocketException).
        for (int attempt = 0; ; attempt++)
        {
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            var udp = new Ars.UdpServerTransport(endPoint);
            var tcp = new Ars.TcpServerTransport(endPoint);
            var server = new Ars.DnsServer(udp, tcp);
            server.QueryReceived += OnQueryReceivedAsync;
            server.ExceptionThrown += (_, e) =>
            {
                LastException = e.Exception;
                return Task.CompletedTask;
            };
            try
            {
                server.Start();
                _server = server;
                EndPoint = endPoint;
                return;
            }
            catch (SocketException) when (attempt < 20)
            {
                CloseQuietly(udp);
                CloseQuietly(tcp);
            }
        }
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>"127.0.0.1:port", the form <c>DnsOptions.Servers</c> takes.</summary>
    public string ServerSpec => $"127.0.0.1:{EndPoint.Port}";

    /// <summary>When set, MX answers carry the exchanges' A/AAAA records in the additional section.</summary>
    public bool IncludeAdditionalAddresses { get; set; }

    /// <summary>Delay before each response is sent, to hold queries in flight.</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>The last exception ARSoft reported while serving, for diagnosing a test.</summary>
    public Exception? LastException { get; private set; }

    public void AddMx(string domain, ushort preference, string host, int ttl = 300) =>
        Add(new Ars.MxRecord(ArsName.Parse(domain), ttl, preference, ArsName.Parse(host)));

    public void AddA(string name, IPAddress address, int ttl = 300)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("AddA takes an IPv4 address.", nameof(address));
        }
        Add(new Ars.ARecord(ArsName.Parse(name), ttl, address));
    }

    public void AddAaaa(string name, IPAddress address, int ttl = 300)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException("AddAaaa takes an IPv6 address.", nameof(address));
        }
        Add(new Ars.AaaaRecord(ArsName.Parse(name), ttl, address));
    }

    /// <summary>RFC 7505: a single MX with preference 0 and the root as exchange.</summary>
    public void AddNullMx(string domain, int ttl = 300) =>
        Add(new Ars.MxRecord(ArsName.Parse(domain), ttl, 0, ArsName.Root));

    /// <summary>Any other record type, so that a name exists without MX or addresses (NODATA for those).</summary>
    public void AddTxt(string name, string text, int ttl = 300) =>
        Add(new Ars.TxtRecord(ArsName.Parse(name), ttl, text));

    public void AddServFail(string name)
    {
        lock (_lock)
        {
            _servFail.Add(Key(name));
        }
    }

    /// <summary>Removes every record and SERVFAIL marker of a name (it becomes NXDOMAIN).</summary>
    public void Remove(string name)
    {
        lock (_lock)
        {
            _records.Remove(Key(name));
            _servFail.Remove(Key(name));
        }
    }

    /// <summary>Questions received for a name (any case, trailing dot optional) and type, over UDP and TCP.</summary>
    public int QueryCount(string name, Ars.RecordType type) => _queries.GetValueOrDefault((Key(name), type));

    /// <summary>Questions received for a name, all types.</summary>
    public int QueryCount(string name)
    {
        string key = Key(name);
        return _queries.Where(p => p.Key.Name == key).Sum(p => p.Value);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        try
        {
            _server.Stop();
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.All(x => x is OperationCanceledException))
        {
            // ARSoft's Stop cancels its accept loops and then waits on them, which surfaces as cancellations.
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Add(Ars.DnsRecordBase record)
    {
        lock (_lock)
        {
            string key = Key(record.Name.ToString());
            if (!_records.TryGetValue(key, out List<Ars.DnsRecordBase>? list))
            {
                _records[key] = list = [];
            }
            list.Add(record);
        }
    }

    private async Task OnQueryReceivedAsync(object sender, Ars.QueryReceivedEventArgs e)
    {
        if (e.Query is not Ars.DnsMessage query)
        {
            return;
        }
        Ars.DnsMessage response = query.CreateResponseInstance();
        response.IsAuthoritiveAnswer = true;
        if (query.Questions.Count != 1)
        {
            response.ReturnCode = Ars.ReturnCode.FormatError;
            e.Response = response;
            return;
        }

        Ars.DnsQuestion question = query.Questions[0];
        string key = Key(question.Name.ToString());
        _queries.AddOrUpdate((key, question.RecordType), 1, (_, n) => n + 1);
        if (ResponseDelay > TimeSpan.Zero)
        {
            await Task.Delay(ResponseDelay);
        }

        lock (_lock)
        {
            if (_servFail.Contains(key))
            {
                response.ReturnCode = Ars.ReturnCode.ServerFailure;
            }
            else if (!_records.TryGetValue(key, out List<Ars.DnsRecordBase>? records))
            {
                response.ReturnCode = Ars.ReturnCode.NxDomain;
            }
            else
            {
                response.ReturnCode = Ars.ReturnCode.NoError;
                foreach (Ars.DnsRecordBase record in records.Where(r => r.RecordType == question.RecordType))
                {
                    response.AnswerRecords.Add(record);
                    if (IncludeAdditionalAddresses && record is Ars.MxRecord mx &&
                        _records.TryGetValue(Key(mx.ExchangeDomainName.ToString()), out List<Ars.DnsRecordBase>? glue))
                    {
                        response.AdditionalRecords.AddRange(glue.Where(g => g.RecordType is Ars.RecordType.A or Ars.RecordType.Aaaa));
                    }
                }
            }
        }
        e.Response = response;
    }

    private static string Key(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();

    private static void CloseQuietly(Ars.IServerTransport transport)
    {
        try
        {
            transport.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or NullReferenceException)
        {
            // Never bound: nothing to release.
        }
    }
}
