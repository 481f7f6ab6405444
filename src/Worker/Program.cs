using Microsoft.Extensions.Hosting;

RnnLmService.Core.NativeRuntime.EnsureLoadedOrExit();

var builder = Host.CreateApplicationBuilder(args);
var host = builder.Build();
host.Run();
