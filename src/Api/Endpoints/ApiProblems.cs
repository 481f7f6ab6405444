using Microsoft.AspNetCore.Http.HttpResults;

namespace RnnLmService.Api.Endpoints;

/// <summary>The problem+json answers the dataset and training-job endpoints share.</summary>
internal static class ApiProblems
{
    /// <summary>400 with the field as the key of <c>errors</c>.</summary>
    public static ValidationProblem Invalid(string field, string reason) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] },
            detail: reason, title: $"Invalid {field}");

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large");

    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
}
