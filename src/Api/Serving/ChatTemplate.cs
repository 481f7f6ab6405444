using System.Text;
using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Core;

namespace RnnLmService.Api.Serving;

/// <summary>
/// How a conversation becomes a prompt for a model that only continues text (none of these models is chat-tuned):
/// each message's content, in order, on its own line(s) — line breaks inside a message are kept, roles and names are
/// not written — and the prompt ends with a line break, so the reply is the model's next line. A message with blank
/// content adds nothing. Generation stops at the end of that line (<c>finish_reason: "stop"</c>).
/// </summary>
internal static class ChatTemplate
{
    /// <summary>Most messages in one conversation.</summary>
    public const int MaxMessages = 256;

    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>The prompt for <paramref name="messages"/>; each failure names the field (<c>messages[i].content</c>).</summary>
    public static string Render(IReadOnlyList<ChatMessage>? messages, int maxCharacters)
    {
        InvalidSettingException.Check(messages is { Count: > 0 }, "messages", "messages is required: a list of {\"role\", \"content\"} objects.");
        InvalidSettingException.Check(messages!.Count <= MaxMessages, "messages", $"messages takes at most {MaxMessages} messages (got {messages.Count}).");
        var prompt = new StringBuilder();
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new InvalidSettingException($"messages[{i}]", $"messages[{i}] must be an object with role and content.");
            InvalidSettingException.Check(m.Role is not null && Roles.Contains(m.Role), $"messages[{i}].role",
                $"messages[{i}].role must be one of {string.Join(", ", Roles)} (was {(m.Role is null ? "missing" : $"\"{m.Role}\"")}).");
            var text = Content(m, i).ReplaceLineEndings("\n").TrimEnd('\n');
            if (string.IsNullOrWhiteSpace(text)) continue;
            prompt.Append(text).Append('\n');
            InvalidSettingException.Check(prompt.Length <= maxCharacters, "messages",
                $"the conversation has more than {maxCharacters} characters (RnnLm:Serving:MaxPromptCharacters).");
        }
        InvalidSettingException.Check(prompt.Length > 0, "messages", "every message is empty: nothing to reply to.");
        return prompt.ToString();
    }

    private static string Content(ChatMessage m, int i)
    {
        var field = $"messages[{i}].content";
        if (m.Content is not { } content || content.ValueKind == JsonValueKind.Null)
        {
            InvalidSettingException.Check(m.Role == "assistant", field, $"{field} is required (only an assistant message may omit it).");
            return "";
        }
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        InvalidSettingException.Check(content.ValueKind == JsonValueKind.Array, field, $"{field} must be a string or a list of text parts.");
        var parts = new List<string>();
        var k = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partField = $"{field}[{k++}]";
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            InvalidSettingException.Check(type is not null, partField, $"{partField} must be an object with a type.");
            InvalidSettingException.Check(type == "text", partField, $"{partField} is of type \"{type}\"; these models read text only (type \"text\").");
            var text = part.TryGetProperty("text", out var x) && x.ValueKind == JsonValueKind.String ? x.GetString() : null;
            InvalidSettingException.Check(text is not null, partField, $"{partField}.text must be a string.");
            parts.Add(text!);
        }
        return string.Join('\n', parts);
    }
}
