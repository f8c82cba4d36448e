// The sample shop on its own: `ConnectionStrings__Shop="Host=…;Database=shop;…" dotnet run`.
// The demo (samples/Hindsight.Demo) hosts the same application in-process on a private PostgreSQL.
using Hindsight.Samples.Shop;

var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Shop")
    ?? throw new InvalidOperationException("set ConnectionStrings__Shop to the shop database's connection string");
var app = ShopApp.Build(connectionString, args);
await ShopApp.CreateSchemaAsync(app);
await app.RunAsync();
