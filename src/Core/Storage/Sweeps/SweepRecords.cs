using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace RnnLmService.Core.Storage.Sweeps;

/// <summary>
/// A grid of training jobs queued together (<c>POST /api/sweeps</c>): the base job fields and the grid as the client
/// sent them. Its points and their ordinary jobs are <see cref="SweepPointRecord"/>s; its status is its jobs'.
/// </summary>
public sealed class SweepRecord
{
    public required string Id { get; set; }
    /// <summary>The name the points' model names derive from: <c>{name}-{point}</c>.</summary>
    public required string Name { get; set; }
    public required string DatasetId { get; set; }
    /// <summary>The base job fields (a training job's JSON without dataset and model name), as sent.</summary>
    public required string BaseJson { get; set; }
    /// <summary>The grid: field path → values, in the order sent (the first field varies slowest).</summary>
    public required string GridJson { get; set; }
    public int Points { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>One point of a sweep: its grid values and the training job queued for it.</summary>
public sealed class SweepPointRecord
{
    public required string SweepId { get; set; }
    /// <summary>0-based position in the grid's expansion.</summary>
    public int PointIndex { get; set; }
    /// <summary>The point's values: field path → value.</summary>
    public required string ValuesJson { get; set; }
    public required string JobId { get; set; }
    /// <summary>Median milliseconds of a next-word call on the point's model, once measured (at the first read after it succeeded).</summary>
    public double? NextWordLatencyMs { get; set; }
}

/// <summary>The <c>sweeps</c> and <c>sweep_points</c> tables: a point per job, a job in at most one sweep.</summary>
internal sealed class SweepRecordConfiguration : IEntityTypeConfiguration<SweepRecord>, IEntityTypeConfiguration<SweepPointRecord>
{
    public void Configure(EntityTypeBuilder<SweepRecord> e)
    {
        e.ToTable("sweeps");
        e.HasKey(x => x.Id);
        e.Property(x => x.Id).HasMaxLength(64);
        e.Property(x => x.Name).HasMaxLength(64);
        e.Property(x => x.DatasetId).HasMaxLength(64);
        e.HasIndex(x => x.CreatedAt);
    }

    public void Configure(EntityTypeBuilder<SweepPointRecord> e)
    {
        e.ToTable("sweep_points");
        e.HasKey(x => new { x.SweepId, x.PointIndex });
        e.Property(x => x.SweepId).HasMaxLength(64);
        e.Property(x => x.JobId).HasMaxLength(64);
        e.HasIndex(x => x.JobId).IsUnique();
    }
}
