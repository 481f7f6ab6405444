using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RnnLmService.Core.Storage.Database.Migrations.Sqlite
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
                type: "TEXT",
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
