using RnnLmService.Api.Endpoints;
using RnnLmService.Api.Hosting;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Worker;
using RnnLmService.Worker.Hosting;

RnnLmService.Core.NativeRuntime.EnsureLoadedOrExit();
var builder = WebApplication.CreateBuilder(args);
builder.AddRnnLmLogging();
builder.Services
    .AddRnnLmOptions(builder.Configuration)
    .AddRnnLmErrorHandling()
    .AddRnnLmSwagger()
    .AddRnnLmOperations()
    .AddRnnLmStore()
    .AddTrainingWorker()
    .AddModelServing()
    .AddRnnLmSecurity();

var app = builder.Build();
await app.Services.MigrateStoreAsync();
app.UseRnnLmPipeline();
app.UsePlayground();
app.MapOperationsApi();
app.MapModelsApi();
app.MapInferenceApi();
app.MapInterpretabilityApi();
app.MapOpenAiApi();
app.MapTokenizeApi();
app.MapDatasetsApi();
app.MapTrainingJobsApi();
app.MapKeysApi();
app.MapPresetsApi();
app.MapSweepsApi();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
