using System.Collections;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace FastMta.Server;

/// <summary>
/// Kestrel, with its address list showing only the HTTP endpoints. Kestrel reports every endpoint it bound as
/// <c>http://ip:port</c>, the SMTP ones too, and the host logs each as "Now listening on: http://127.0.0.1:2525",
/// which tells an operator to speak HTTP to the SMTP port. The SMTP endpoints are left out of what the host (and
/// anything else reading <see cref="IServerAddressesFeature"/>) sees; Program logs them itself as smtp://.
/// Binding, serving and stopping are Kestrel's, untouched.
/// </summary>
internal sealed class HttpAddressesServer : IServer
{
    private readonly IServer _kestrel;

    public HttpAddressesServer(IServer kestrel, IReadOnlyList<IPEndPoint> smtpEndpoints)
    {
        _kestrel = kestrel;
        Features = new FeatureCollection(kestrel.Features);
        if (kestrel.Features.Get<IServerAddressesFeature>() is { } addresses)
        {
            Features.Set<IServerAddressesFeature>(new FilteredAddresses(addresses, smtpEndpoints));
        }
    }

    public IFeatureCollection Features { get; }

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull =>
        _kestrel.StartAsync(application, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _kestrel.StopAsync(cancellationToken);

    public void Dispose() => _kestrel.Dispose();

    /// <summary>Replaces the registered server (Kestrel) with this wrapper around it; the SMTP endpoints are asked for
    /// when the server is created (they come from configuration bound in the container).</summary>
    public static void Register(IServiceCollection services, Func<IServiceProvider, IReadOnlyList<IPEndPoint>> smtpEndpoints)
    {
        ServiceDescriptor kestrel = services.Last(d => d.ServiceType == typeof(IServer));
        services.Remove(kestrel);
        services.AddSingleton<IServer>(sp => new HttpAddressesServer(kestrel switch
        {
            { ImplementationInstance: IServer instance } => instance,
            { ImplementationFactory: { } factory } => (IServer)factory(sp),
            _ => (IServer)ActivatorUtilities.CreateInstance(sp, kestrel.ImplementationType!),
        }, smtpEndpoints(sp)));
    }

    // Adds and settings pass through to Kestrel's own collection; reading skips the addresses of SMTP endpoints.
    private sealed class FilteredAddresses(IServerAddressesFeature inner, IReadOnlyList<IPEndPoint> smtpEndpoints)
        : IServerAddressesFeature, ICollection<string>
    {
        public ICollection<string> Addresses => this;

        // A lazy sequence, not this collection: LINQ's Count/ToList on an ICollection would call back into it.
        private IEnumerable<string> Visible => inner.Addresses.Where(a => !IsSmtp(a));

        public bool PreferHostingUrls
        {
            get => inner.PreferHostingUrls;
            set => inner.PreferHostingUrls = value;
        }

        public int Count => Visible.Count();

        public bool IsReadOnly => inner.Addresses.IsReadOnly;

        public void Add(string item) => inner.Addresses.Add(item);

        public void Clear() => inner.Addresses.Clear();

        public bool Contains(string item) => inner.Addresses.Contains(item) && !IsSmtp(item);

        public void CopyTo(string[] array, int arrayIndex) => Visible.ToList().CopyTo(array, arrayIndex);

        public bool Remove(string item) => inner.Addresses.Remove(item);

        public IEnumerator<string> GetEnumerator() => Visible.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        private bool IsSmtp(string address) =>
            Uri.TryCreate(address, UriKind.Absolute, out Uri? uri) && IPAddress.TryParse(uri.Host.Trim('[', ']'), out IPAddress? ip)
            && smtpEndpoints.Any(e => e.Port == uri.Port && e.Address.Equals(ip));
    }
}
