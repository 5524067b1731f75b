using System.Text;

namespace FastMta.Spool.Tests;

public sealed class SharedStringsTests
{
    [Fact]
    public void A_domain_is_lower_cased_and_shared_between_addresses()
    {
        string a = DomainNames.Of("alice@Example.TEST");
        string b = DomainNames.Of("bob@example.test");
        Assert.Equal("example.test", a);
        Assert.Same(a, b);
        Assert.Equal("[192.0.2.1]", DomainNames.Of("x@[192.0.2.1]"));
        Assert.Equal("no-at-sign", DomainNames.Of("No-At-Sign"));
        Assert.Equal("b.test", DomainNames.Of("\"a@b\"@B.test")); // the last '@' separates the domain
    }

    [Fact]
    public void Equal_values_share_one_string_and_a_hit_allocates_nothing()
    {
        var table = new SharedStrings(maxEntries: 10, maxLength: 64);
        string first = table.Get("sender@example.test"u8);
        Assert.Same(first, table.Get("sender@example.test"u8));
        Assert.Same(first, table.Get(new string("sender@example.test".AsSpan())));
        Assert.Same(string.Empty, table.Get(ReadOnlySpan<byte>.Empty));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            _ = table.Get("sender@example.test"u8);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void The_table_stops_growing_at_its_bound_and_still_returns_correct_values()
    {
        var table = new SharedStrings(maxEntries: 3, maxLength: 8);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal($"v{i}", table.Get(Encoding.UTF8.GetBytes($"v{i}")));
        }

        Assert.Equal(3, table.Count);
        Assert.Equal("a-value-longer-than-eight", table.Get("a-value-longer-than-eight"u8)); // long values are not kept
        Assert.Equal(3, table.Count);
        Assert.Equal("é€", table.Get("é€"u8)); // multi-byte UTF-8 decodes as Encoding.UTF8 does
    }
}
