using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RnnLmService.Core.Storage.Database.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AddSweeps : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sweep_points",
                columns: table => new
                {
                    sweep_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    point_index = table.Column<int>(type: "integer", nullable: false),
                    values_json = table.Column<string>(type: "text", nullable: false),
                    job_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    next_word_latency_ms = table.Column<double>(type: "double precision", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sweep_points", x => new { x.sweep_id, x.point_index });
                });

            migrationBuilder.CreateTable(
                name: "sweeps",
                columns: table => new
                {
                    id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    dataset_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    base_json = table.Column<string>(type: "text", nullable: false),
                    grid_json = table.Column<string>(type: "text", nullable: false),
                    points = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sweeps", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_sweep_points_job_id",
                table: "sweep_points",
                column: "job_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_sweeps_created_at",
                table: "sweeps",
                column: "created_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sweep_points");

            migrationBuilder.DropTable(
                name: "sweeps");
        }
    }
}
