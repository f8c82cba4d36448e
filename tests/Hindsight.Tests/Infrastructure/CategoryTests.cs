using System.Reflection;
using Hindsight.Tests.Server.Dashboard;
using Xunit;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// Every test class carries one <c>Category</c> trait, so the fast subset (<c>--filter Category=Fast</c>) and the run
/// without a browser (<c>--filter Category!=Browser</c>) stay right as tests are added: <c>Fast</c> needs no server, no
/// browser and no child process; <c>PostgreSQL</c> starts or uses a server; <c>Browser</c> drives the dashboard in Chromium.
/// </summary>
[Trait("Category", "Fast")]
public sealed class CategoryTests
{
    private static string? Category(Type type) =>
        type.GetCustomAttributesData()
            .Where(a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == "Category")
            .Select(a => (string?)a.ConstructorArguments[1].Value)
            .SingleOrDefault();

    private static bool UsesPostgres(Type type) =>
        type.GetCustomAttribute<CollectionAttribute>() is not null
        || type.GetConstructors().SelectMany(c => c.GetParameters()).Any(p => p.ParameterType == typeof(PostgresFixture));

    private static bool UsesBrowser(Type type) => typeof(IClassFixture<DashboardSite>).IsAssignableFrom(type);

    [Fact]
    public void Every_test_class_has_one_category_that_fits_its_fixtures()
    {
        var classes = typeof(CategoryTests).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<FactAttribute>() is not null))
            .ToList();
        Assert.NotEmpty(classes);

        // A class may start a server of its own (then it is PostgreSQL without the shared fixture), or a browser of its
        // own beside the server (Browser); one with the fixtures is never in a lighter category than they need.
        string[] Allowed(Type t) => UsesBrowser(t) ? ["Browser"] : UsesPostgres(t) ? ["PostgreSQL", "Browser"] : ["Fast", "PostgreSQL", "Browser"];
        var wrong = classes
            .Where(t => !Allowed(t).Contains(Category(t)))
            .Select(t => $"{t.FullName}: {Category(t) ?? "no category"}, expected {string.Join(" or ", Allowed(t))}")
            .ToList();
        Assert.Empty(wrong);
    }
}
