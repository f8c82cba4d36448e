using Hindsight.Configuration;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Configuration;

[Trait("Category", "Fast")]
public class ConnectionStringsTests
{
    private static NpgsqlConnectionStringBuilder P(string s) => new(ConnectionStrings.ToNpgsql(s));

    [Fact]
    public void Url_with_everything()
    {
        var b = P("postgresql://alice:s%40cr%3At@db.example.com:6543/shop?sslmode=verify-full&application_name=audit&connect_timeout=7");
        Assert.Equal("db.example.com", b.Host);
        Assert.Equal(6543, b.Port);
        Assert.Equal("shop", b.Database);
        Assert.Equal("alice", b.Username);
        Assert.Equal("s@cr:t", b.Password);
        Assert.Equal(SslMode.VerifyFull, b.SslMode);
        Assert.Equal("audit", b.ApplicationName);
        Assert.Equal(7, b.Timeout);
    }

    [Fact]
    public void Postgres_scheme_ipv6_and_defaults()
    {
        var b = P("postgres://[::1]/db");
        Assert.Equal("::1", b.Host);
        Assert.Equal("db", b.Database);
        Assert.Null(b.Username);

        var c = P("postgresql://u@[::1]:5433");
        Assert.Equal("::1", c.Host);
        Assert.Equal(5433, c.Port);
        Assert.Equal("u", c.Username);
    }

    [Fact]
    public void Url_with_several_hosts()
    {
        var b = P("postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write");
        Assert.Equal("h1:5432,h2:5433", b.Host);
        Assert.Equal("read-write", b.TargetSessionAttributes);
        var c = P("postgresql://h1,h2/db");
        Assert.Equal("h1,h2", c.Host);
    }

    [Fact]
    public void Url_with_socket_directory_in_query()
    {
        var b = P("postgresql:///shop?host=%2Fvar%2Frun%2Fpostgresql&user=me");
        Assert.Equal("/var/run/postgresql", b.Host);
        Assert.Equal("shop", b.Database);
        Assert.Equal("me", b.Username);
    }

    [Fact]
    public void Libpq_key_value_with_quoting()
    {
        var b = P("host=localhost port=5433 dbname='my db' user=bob password='it\\'s a secret' sslmode=require");
        Assert.Equal("localhost", b.Host);
        Assert.Equal(5433, b.Port);
        Assert.Equal("my db", b.Database);
        Assert.Equal("bob", b.Username);
        Assert.Equal("it's a secret", b.Password);
        Assert.Equal(SslMode.Require, b.SslMode);
    }

    [Fact]
    public void Libpq_key_value_with_spaces_around_equals()
    {
        var b = P("  host = db1   dbname = x  ");
        Assert.Equal("db1", b.Host);
        Assert.Equal("x", b.Database);
    }

    [Fact]
    public void Npgsql_form()
    {
        var b = P("Host=db;Port=5434;Database=shop;Username=u;Password=p;Include Error Detail=true");
        Assert.Equal("db", b.Host);
        Assert.Equal(5434, b.Port);
        Assert.Equal("shop", b.Database);
        Assert.Equal("p", b.Password);
        Assert.True(b.IncludeErrorDetail);

        // lower-case Npgsql keywords with ';' are not mistaken for libpq pairs
        var c = P("host=db;database=shop");
        Assert.Equal("db", c.Host);
        Assert.Equal("shop", c.Database);

        Assert.Equal("db", P("Server=db").Host);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("hello world")]
    [InlineData("just-a-word")]
    [InlineData("host=x bogus")]
    [InlineData("host=x nonsense_option=1")]
    [InlineData("Host=x;NoSuchKeyword=1")]
    [InlineData("Host=x;Port=notanumber")]
    [InlineData("mysql://u:p@h/db")]
    [InlineData("postgresql://h:99999/db")]
    [InlineData("postgresql://h/db?sslmode=sometimes")]
    [InlineData("postgresql://h/db?bogus=1")]
    [InlineData("host='unterminated")]
    [InlineData("postgresql://h/%ZZ")]
    public void Garbage_is_rejected_clearly(string input)
    {
        var e = Assert.Throws<ConnectionStringException>(() => ConnectionStrings.ToNpgsql(input));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("host=x password=hunter2xyz bogus")]
    [InlineData("host=x password=hunter2xyz nonsense=1")]
    [InlineData("Host=x;Password=hunter2xyz;Port=hunter2xyz")]
    [InlineData("postgresql://u:hunter2xyz@h:hunter2xyz/db")]
    [InlineData("hunter2xyz")]
    public void Errors_never_repeat_values(string input)
    {
        var e = Assert.Throws<ConnectionStringException>(() => ConnectionStrings.ToNpgsql(input));
        Assert.DoesNotContain("hunter2xyz", e.ToString());
    }

    [Theory]
    [InlineData("postgresql://alice:Pw-s3cret-1@db:5432/shop")]
    [InlineData("postgresql://alice@db/shop?password=Pw-s3cret-1")]
    [InlineData("host=db dbname=shop user=alice password=Pw-s3cret-1")]
    [InlineData("host=db dbname=shop user=alice password='Pw-s3cret-1'")]
    [InlineData("Host=db;Database=shop;Username=alice;Password=Pw-s3cret-1")]
    [InlineData("Host=db;Database=shop;Username=alice;Password=\"Pw-s3cret-1\"")]
    [InlineData("Host=db;Database=shop;Username=alice;SSL Password=Pw-s3cret-1;Password=Pw-s3cret-1")]
    public void Redact_removes_the_password(string input)
    {
        var redacted = ConnectionStrings.Redact(input);
        Assert.DoesNotContain("Pw-s3cret-1", redacted);
        Assert.Contains("db", redacted);
        Assert.Contains("shop", redacted);
        Assert.Contains("alice", redacted);

        var described = ConnectionStrings.Describe(input);
        Assert.DoesNotContain("Pw-s3cret-1", described);
        Assert.StartsWith("alice@db:", described);
        Assert.EndsWith("/shop", described);
    }

    [Fact]
    public void Redact_does_not_echo_unparseable_input()
    {
        Assert.Equal("(invalid connection string)", ConnectionStrings.Redact("password=Pw-s3cret-1 garbage"));
        Assert.Equal("", ConnectionStrings.Redact(null));
    }

    [Fact]
    public void Scrub_removes_passwords_from_messages()
    {
        const string cs = "postgresql://u:Pw-s3cret-1@h/db";
        var text = ConnectionStrings.Scrub("failed for postgresql://u:Pw-s3cret-1@h/db with Pw-s3cret-1", cs);
        Assert.DoesNotContain("Pw-s3cret-1", text);
    }
}
