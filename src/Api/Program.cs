using RnnLmService.Api.Endpoints;
using RnnLmService.Api.Hosting;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Worker;

RnnLmService.Core.NativeRuntime.EnsureLoadedOrExit();
var builder = WebApplication.CreateBuilder(args);
builder.AddRnnLmLogging();
builder.Services
    .AddRnnLmOptions(builder.Configuration)
    .AddRnnLmErrorHandling()
    .AddRnnLmSwagger()
    .AddRnnLmOperations()
    .AddTrainingServices(builder.Configuration)
    .AddModelServing();

var app = builder.Build();
await app.Services.MigrateStoreAsync();
app.UseRnnLmPipeline();
app.MapOperationsApi();
app.MapModelsApi();
app.MapInferenceApi();
app.MapOpenAiApi();
app.MapDatasetsApi();
app.MapTrainingJobsApi();
app.MapPresetsApi();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
