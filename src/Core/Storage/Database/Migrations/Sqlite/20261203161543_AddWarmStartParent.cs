using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RnnLmService.Core.Storage.Database.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddWarmStartParent : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "parent",
                table: "model_versions",
                type: "TEXT",
                maxLength: 80,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "parent",
                table: "model_versions");
        }
    }
}
