using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RnnLmService.Core.Storage.Database.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ClaimTokensCrashesVersionCounters : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "checkpoint_step",
                table: "training_jobs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "claim_checkpoint_step",
                table: "training_jobs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "claim_token",
                table: "training_jobs",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "crashes",
                table: "training_jobs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTime>(
                name: "retry_after",
                table: "training_jobs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "model_name_counters",
                columns: table => new
                {
                    name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    last_version = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_name_counters", x => x.name);
                });

            migrationBuilder.CreateIndex(
                name: "IX_model_versions_job_id",
                table: "model_versions",
                column: "job_id",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_name_counters");

            migrationBuilder.DropIndex(
                name: "IX_model_versions_job_id",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "checkpoint_step",
                table: "training_jobs");

            migrationBuilder.DropColumn(
                name: "claim_checkpoint_step",
                table: "training_jobs");

            migrationBuilder.DropColumn(
                name: "claim_token",
                table: "training_jobs");

            migrationBuilder.DropColumn(
                name: "crashes",
                table: "training_jobs");

            migrationBuilder.DropColumn(
                name: "retry_after",
                table: "training_jobs");
        }
    }
}
