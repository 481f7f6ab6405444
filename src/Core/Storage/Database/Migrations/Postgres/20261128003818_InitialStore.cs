using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace RnnLmService.Core.Storage.Database.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InitialStore : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "datasets",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    split_kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    directory = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    lines = table.Column<long>(type: "bigint", nullable: false),
                    words = table.Column<long>(type: "bigint", nullable: false),
                    characters = table.Column<long>(type: "bigint", nullable: false),
                    bytes = table.Column<long>(type: "bigint", nullable: false),
                    sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    train_lines = table.Column<long>(type: "bigint", nullable: false),
                    train_words = table.Column<long>(type: "bigint", nullable: false),
                    train_bytes = table.Column<long>(type: "bigint", nullable: false),
                    valid_lines = table.Column<long>(type: "bigint", nullable: false),
                    valid_words = table.Column<long>(type: "bigint", nullable: false),
                    valid_bytes = table.Column<long>(type: "bigint", nullable: false),
                    test_lines = table.Column<long>(type: "bigint", nullable: false),
                    test_words = table.Column<long>(type: "bigint", nullable: false),
                    test_bytes = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_datasets", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "job_events",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    job_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    time = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    payload_json = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_job_events", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "model_versions",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    artifact_path = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    metrics_json = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    promoted = table.Column<bool>(type: "boolean", nullable: false),
                    job_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_versions", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "settings",
                columns: table => new
                {
                    key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    value = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    updated_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_settings", x => x.key);
                });

            migrationBuilder.CreateTable(
                name: "training_jobs",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    model_name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    dataset_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    spec_json = table.Column<string>(type: "text", nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    promote = table.Column<bool>(type: "boolean", nullable: false),
                    unique_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    claimed_by = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    lease_until = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    heartbeat_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    cancel_requested = table.Column<bool>(type: "boolean", nullable: false),
                    epoch = table.Column<int>(type: "integer", nullable: false),
                    total_epochs = table.Column<int>(type: "integer", nullable: false),
                    step = table.Column<long>(type: "bigint", nullable: false),
                    total_steps = table.Column<long>(type: "bigint", nullable: false),
                    train_loss = table.Column<double>(type: "double precision", nullable: true),
                    valid_perplexity = table.Column<double>(type: "double precision", nullable: true),
                    best_valid_perplexity = table.Column<double>(type: "double precision", nullable: true),
                    tokens_per_second = table.Column<double>(type: "double precision", nullable: true),
                    learning_rate = table.Column<double>(type: "double precision", nullable: true),
                    run_seconds = table.Column<double>(type: "double precision", nullable: false),
                    test_perplexity = table.Column<double>(type: "double precision", nullable: true),
                    failure_reason = table.Column<string>(type: "text", nullable: true),
                    produced_model_name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    produced_model_version = table.Column<int>(type: "integer", nullable: true),
                    resumed_from = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_training_jobs", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_datasets_created_at",
                table: "datasets",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "IX_job_events_job_id_id",
                table: "job_events",
                columns: new[] { "job_id", "id" });

            migrationBuilder.CreateIndex(
                name: "IX_model_versions_name_version",
                table: "model_versions",
                columns: new[] { "name", "version" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_training_jobs_dataset_id",
                table: "training_jobs",
                column: "dataset_id");

            migrationBuilder.CreateIndex(
                name: "IX_training_jobs_status_priority_created_at",
                table: "training_jobs",
                columns: new[] { "status", "priority", "created_at" });

            migrationBuilder.CreateIndex(
                name: "IX_training_jobs_unique_key",
                table: "training_jobs",
                column: "unique_key",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "datasets");

            migrationBuilder.DropTable(
                name: "job_events");

            migrationBuilder.DropTable(
                name: "model_versions");

            migrationBuilder.DropTable(
                name: "settings");

            migrationBuilder.DropTable(
                name: "training_jobs");
        }
    }
}
