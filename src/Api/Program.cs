using RnnLmService.Api.Endpoints;
using RnnLmService.Api.Hosting;

RnnLmService.Core.NativeRuntime.EnsureLoadedOrExit();
var builder = WebApplication.CreateBuilder(args);
builder.AddRnnLmLogging();
builder.Services
    .AddRnnLmOptions(builder.Configuration)
    .AddRnnLmErrorHandling()
    .AddRnnLmSwagger()
    .AddRnnLmOperations();
// TODO(store): .AddTrainingServices(builder.Configuration) once the store branch is merged.

var app = builder.Build();
// TODO(store): await app.Services.MigrateStoreAsync();
app.UseRnnLmPipeline();
app.MapOperationsApi();
// TODO(store): app.MapDatasetsApi(); app.MapTrainingJobsApi();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
