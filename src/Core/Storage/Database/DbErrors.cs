using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace RnnLmService.Core.Storage.Database;

internal static class DbErrors
{
    /// <summary>A unique index refused the row (SQLite constraint 19/2067, PostgreSQL 23505).</summary>
    public static bool IsUniqueViolation(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is SqliteException { SqliteErrorCode: 19 } se && (se.SqliteExtendedErrorCode is 2067 or 1555 || se.Message.Contains("UNIQUE", StringComparison.Ordinal)))
                return true;
            if (x is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
                return true;
        }
        return false;
    }

    /// <summary>Whether the provider is SQLite.</summary>
    public static bool IsSqlite(this DbContext db) => db.Database.ProviderName?.Contains("Sqlite", StringComparison.Ordinal) == true;
}
