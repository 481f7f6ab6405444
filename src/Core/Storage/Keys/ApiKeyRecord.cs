using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace RnnLmService.Core.Storage.Keys;

/// <summary>An API key an admin created: only its SHA-256 is stored; a revoked key keeps its row (and is refused).</summary>
public sealed class ApiKeyRecord
{
    public required string Id { get; set; }
    public required string Name { get; set; }
    /// <summary><c>read</c>, <c>train</c> or <c>admin</c>.</summary>
    public required string Role { get; set; }
    /// <summary>SHA-256 of the key's UTF-8 bytes, lowercase hex.</summary>
    public required string Sha256 { get; set; }
    /// <summary>The key's first characters, so a person can tell keys apart; not enough to use it.</summary>
    public required string Prefix { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

/// <summary>The <c>api_keys</c> table: the hash is unique and is what a request is looked up by.</summary>
internal sealed class ApiKeyRecordConfiguration : IEntityTypeConfiguration<ApiKeyRecord>
{
    public void Configure(EntityTypeBuilder<ApiKeyRecord> e)
    {
        e.ToTable("api_keys");
        e.HasKey(x => x.Id);
        e.Property(x => x.Id).HasMaxLength(64);
        e.Property(x => x.Name).HasMaxLength(ApiKeyRoles.MaxNameLength);
        e.Property(x => x.Role).HasMaxLength(16);
        e.Property(x => x.Sha256).HasMaxLength(64);
        e.Property(x => x.Prefix).HasMaxLength(16);
        e.HasIndex(x => x.Sha256).IsUnique();
    }
}
