# One image for the API and the worker; the command chooses:
#   docker run IMAGE                          -> the API (dotnet RnnLmService.Api.dll)
#   docker run IMAGE RnnLmService.Worker.dll  -> a standalone training worker
# The .NET 10 images are Ubuntu 24.04 based and carry the libstdc++ (GLIBCXX_3.4.32) LibTorch 2.10 needs.

# ---- build: restore, then publish both hosts (no tests here; CI runs them) ----
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props RnnLmService.sln ./
COPY src/Core/RnnLmService.Core.csproj src/Core/
COPY src/Worker/RnnLmService.Worker.csproj src/Worker/
COPY src/Api/RnnLmService.Api.csproj src/Api/
RUN dotnet restore src/Api/RnnLmService.Api.csproj -r linux-x64 \
 && dotnet restore src/Worker/RnnLmService.Worker.csproj -r linux-x64
COPY src/ src/
RUN dotnet publish src/Api/RnnLmService.Api.csproj -c Release -r linux-x64 --self-contained false --no-restore -o /app \
 && dotnet publish src/Worker/RnnLmService.Worker.csproj -c Release -r linux-x64 --self-contained false --no-restore -o /app

# ---- runtime: ASP.NET Core runtime only, non-root ----
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's built-in non-root user (uid 1654); it owns the data volume.
RUN mkdir -p /data && chown -R app:app /data
USER app
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_gcServer=0 \
    DOTNET_GCHeapAffinitizeMask=0 \
    DOTNET_TieredPGO=1 \
    RnnLm__DataDirectory=/data \
    GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295
# GLIBC_TUNABLES: one malloc arena, freed memory kept in the heap (training steps reuse their buffers instead of
# page-faulting them in: 3x faster training on the benchmark VM, bench/RESULTS.md); the worker trims after each job.
VOLUME ["/data"]
EXPOSE 8080
# The runtime image has no curl: the app probes itself (GET /health/ready on its own port; the worker its own).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["dotnet", "/app/RnnLmService.Worker.dll", "probe", "http://127.0.0.1:8080/health/live"]
ENTRYPOINT ["dotnet"]
CMD ["RnnLmService.Api.dll"]
