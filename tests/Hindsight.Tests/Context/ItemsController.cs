using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;

namespace Hindsight.Tests.Context;

/// <summary>A controller writing through EF Core, for the middleware test with attribute routing.</summary>
[ApiController]
[Route("api/items")]
public sealed class ItemsController(ShopDb db) : ControllerBase
{
    /// <summary>Creates an item owned by the caller.</summary>
    [HttpPut("{name}")]
    public async Task<IActionResult> Put(string name)
    {
        db.Items.Add(new Item { Name = name, Owner = User.FindFirstValue(ClaimTypes.NameIdentifier), RequestId = HttpContext.TraceIdentifier });
        await db.SaveChangesAsync();
        return NoContent();
    }
}
