using RnnLmService.Api.Endpoints;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Worker;

RnnLmService.Core.NativeRuntime.EnsureLoadedOrExit();
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddTrainingServices(builder.Configuration);
var app = builder.Build();
await app.Services.MigrateStoreAsync();
app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" }));
app.MapDatasetsApi();
app.MapTrainingJobsApi();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
