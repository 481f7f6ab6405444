namespace RnnLmService.Api.Hosting;

/// <summary>The web playground: the static page in <c>wwwroot</c> served at <c>/</c>.</summary>
public static class PlaygroundExtensions
{
    /// <summary>Serves <c>wwwroot/index.html</c> at <c>/</c> and the page's scripts and styles beside it.</summary>
    public static WebApplication UsePlayground(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        return app;
    }
}
