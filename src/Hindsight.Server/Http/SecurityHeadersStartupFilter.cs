using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Hindsight.Server.Http;

/// <summary>
/// Puts <see cref="SecurityHeaders"/> first in the host's pipeline, ahead of authentication, so that every answer of the
/// API carries them. In an app that hosts the API, only the API's own paths get them (the app's pages keep their own).
/// </summary>
internal sealed class SecurityHeadersStartupFilter(Func<PathString, bool> applies) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<SecurityHeaders>(applies);
        next(app);
    };
}
