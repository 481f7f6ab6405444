using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using RnnLmService.Core.Storage.Sweeps;

namespace RnnLmService.Core.Storage.Database;

/// <summary>
/// The store's schema, shared by both providers. Each provider has a derived context
/// (<see cref="SqliteRnnLmDbContext"/>, <see cref="PostgresRnnLmDbContext"/>) that owns its migration set.
/// Tables and columns are snake_case so the few raw statements (the atomic claim) read the same on both.
/// </summary>
public abstract class RnnLmDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<DatasetRecord> Datasets => Set<DatasetRecord>();
    public DbSet<TrainingJobRecord> TrainingJobs => Set<TrainingJobRecord>();
    public DbSet<JobEventRecord> JobEvents => Set<JobEventRecord>();
    public DbSet<ModelVersionRecord> ModelVersions => Set<ModelVersionRecord>();
    public DbSet<SettingRecord> Settings => Set<SettingRecord>();
    public DbSet<ModelNameCounterRecord> ModelNameCounters => Set<ModelNameCounterRecord>();
    public DbSet<Keys.ApiKeyRecord> ApiKeys => Set<Keys.ApiKeyRecord>();
    public DbSet<SweepRecord> Sweeps => Set<SweepRecord>();
    public DbSet<SweepPointRecord> SweepPoints => Set<SweepPointRecord>();

    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public abstract string Provider { get; }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Every time is UTC; SQLite hands DateTime back as Unspecified, Npgsql refuses Unspecified for timestamptz.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcConverter>();
    }

    protected override void OnModelCreating(ModelBuilder b)
    {
        b.Entity<DatasetRecord>(e =>
        {
            e.ToTable("datasets");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.SplitKind).HasMaxLength(16);
            e.Property(x => x.Directory).HasMaxLength(400);
            e.Property(x => x.Sha256).HasMaxLength(64);
            e.HasIndex(x => x.CreatedAt);
        });

        b.Entity<TrainingJobRecord>(e =>
        {
            e.ToTable("training_jobs");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.Status).HasConversion(new ValueConverter<JobStatus, string>(
                s => JobStatuses.ToText(s), t => JobStatuses.Parse(t))).HasMaxLength(16);
            e.Property(x => x.ModelName).HasMaxLength(64);
            e.Property(x => x.DatasetId).HasMaxLength(64);
            e.Property(x => x.UniqueKey).HasMaxLength(200);
            e.Property(x => x.SubmittedBy).HasMaxLength(200);
            e.Property(x => x.ClaimedBy).HasMaxLength(200);
            e.Property(x => x.ProducedModelName).HasMaxLength(64);
            e.Property(x => x.ResumedFrom).HasMaxLength(200);
            e.Property(x => x.ClaimToken).HasMaxLength(64);
            e.Ignore(x => x.IsTerminal);
            e.HasIndex(x => x.UniqueKey).IsUnique();
            // The claim's scan: status, then priority and age.
            e.HasIndex(x => new { x.Status, x.Priority, x.CreatedAt });
            e.HasIndex(x => x.DatasetId);
        });

        b.Entity<JobEventRecord>(e =>
        {
            e.ToTable("job_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).ValueGeneratedOnAdd();
            e.Property(x => x.JobId).HasMaxLength(64);
            e.Property(x => x.Type).HasMaxLength(16);
            e.HasIndex(x => new { x.JobId, x.Id });
        });

        b.Entity<ModelVersionRecord>(e =>
        {
            e.ToTable("model_versions");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).ValueGeneratedOnAdd();
            e.Property(x => x.Name).HasMaxLength(64);
            e.Property(x => x.ArtifactPath).HasMaxLength(400);
            e.Property(x => x.JobId).HasMaxLength(64);
            e.Property(x => x.Parent).HasMaxLength(80);
            e.HasIndex(x => new { x.Name, x.Version }).IsUnique();
            // One version per job, whatever a worker that lost its claim attempts.
            e.HasIndex(x => x.JobId).IsUnique();
        });

        b.Entity<ModelNameCounterRecord>(e =>
        {
            e.ToTable("model_name_counters");
            e.HasKey(x => x.Name);
            e.Property(x => x.Name).HasMaxLength(64);
        });

        b.Entity<SettingRecord>(e =>
        {
            e.ToTable("settings");
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasMaxLength(100);
            e.Property(x => x.Value).HasMaxLength(400);
        });

        b.ApplyConfiguration(new Keys.ApiKeyRecordConfiguration());
        b.ApplyConfiguration<SweepRecord>(new SweepRecordConfiguration());
        b.ApplyConfiguration<SweepPointRecord>(new SweepRecordConfiguration());

        foreach (var entity in b.Model.GetEntityTypes())
            foreach (var property in entity.GetProperties())
                property.SetColumnName(SnakeCase(property.Name));
    }

    /// <summary><c>BestValidPerplexity</c> → <c>best_valid_perplexity</c>.</summary>
    internal static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}

/// <summary>The SQLite flavour of the store (default: <c>{DataDirectory}/rnnlm.db</c>); migrations in Migrations/Sqlite.</summary>
public sealed class SqliteRnnLmDbContext(DbContextOptions<SqliteRnnLmDbContext> options) : RnnLmDbContext(options)
{
    public override string Provider => StoreProviders.Sqlite;
}

/// <summary>The PostgreSQL flavour of the store, shared by many processes; migrations in Migrations/Postgres.</summary>
public sealed class PostgresRnnLmDbContext(DbContextOptions<PostgresRnnLmDbContext> options) : RnnLmDbContext(options)
{
    public override string Provider => StoreProviders.Postgres;
}

/// <summary>Status names as stored and as clients see them.</summary>
public static class JobStatuses
{
    public static string ToText(JobStatus s) => s switch
    {
        JobStatus.Queued => "queued",
        JobStatus.Running => "running",
        JobStatus.Succeeded => "succeeded",
        JobStatus.Failed => "failed",
        JobStatus.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static JobStatus Parse(string text) => text switch
    {
        "queued" => JobStatus.Queued,
        "running" => JobStatus.Running,
        "succeeded" => JobStatus.Succeeded,
        "failed" => JobStatus.Failed,
        "cancelled" => JobStatus.Cancelled,
        _ => throw new FormatException($"Unknown job status '{text}'."),
    };

    public static bool TryParse(string? text, out JobStatus status)
    {
        status = default;
        if (text is null) return false;
        try { status = Parse(text.Trim().ToLowerInvariant()); return true; }
        catch (FormatException) { return false; }
    }
}
