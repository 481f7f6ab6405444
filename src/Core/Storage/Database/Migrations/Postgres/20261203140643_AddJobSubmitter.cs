using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RnnLmService.Core.Storage.Database.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AddJobSubmitter : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "submitted_by",
                table: "training_jobs",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "submitted_by",
                table: "training_jobs");
        }
    }
}
