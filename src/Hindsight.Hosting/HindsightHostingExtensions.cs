using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hindsight.Hosting;

/// <summary>Runs Hindsight's capture worker inside a .NET host.</summary>
public static class HindsightHostingExtensions
{
    /// <summary>
    /// Adds the capture worker as a hosted service, with its options bound from <paramref name="configuration"/> (the
    /// properties of <see cref="HindsightCaptureOptions"/>, for instance <c>Hindsight:SourceConnectionString</c>, or
    /// <c>Hindsight__SourceConnectionString</c> in the environment) and validated when the host starts: an unknown key
    /// or a bad value stops the start with the key's name.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The section that holds the options, usually <c>configuration.GetSection("Hindsight")</c>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddHindsightCapture(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HindsightCaptureOptions>()
            .Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<HindsightCaptureOptions>>(
            new HindsightCaptureOptionsValidator(configuration is IConfigurationSection section ? section.Path : ""));
        services.AddHostedService<HindsightCaptureService>();
        return services;
    }

    /// <summary>Adds the capture worker as a hosted service, with options set in code (validated when the host starts).</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddHindsightCapture(this IServiceCollection services, Action<HindsightCaptureOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HindsightCaptureOptions>().Configure(configure).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HindsightCaptureOptions>>(new HindsightCaptureOptionsValidator(""));
        services.AddHostedService<HindsightCaptureService>();
        return services;
    }
}
