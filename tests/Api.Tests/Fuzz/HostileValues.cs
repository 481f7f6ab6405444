using System.Text;

namespace RnnLmService.Api.Tests.Fuzz;

/// <summary>
/// The hostile inputs the fuzz test sends: JSON fragments for any field (wrong types, NaN/Infinity/huge numbers,
/// deep nesting, long, invalid-UTF-8, lone-surrogate, RTL and control-character strings, thousands of stop strings),
/// whole bodies, and raw (already percent-encoded) values for query and route parameters.
/// </summary>
internal static class HostileValues
{
    /// <summary>10 MB: larger than every JSON body limit, so it must be refused while it streams in, never buffered whole.</summary>
    public const int TenMegabytes = 10 * 1024 * 1024;

    /// <summary>Bytes that are not UTF-8: a lone continuation byte, an overlong '/', a truncated sequence, 0xFF/0xFE.</summary>
    public static readonly byte[] InvalidUtf8 = [0x80, 0xC0, 0xAF, 0xE2, 0x82, 0xFF, 0xFE, 0xED, 0xA0, 0x80];

    /// <summary>The subset of <see cref="Fields"/> for nested fields: one of each kind of confusion.</summary>
    public static readonly HashSet<string> ForNestedFields =
    [
        "string", "null", "object", "array", "fraction", "negative", "NaN literal", "1e309 (overflows double)", "2^63", "1e308",
        "lone high surrogate", "invalid UTF-8 in a string", "64 KB string",
    ];

    /// <summary>JSON fragments (some deliberately not JSON: NaN, Infinity, hex) put in place of one field's value.</summary>
    public static IEnumerable<(string Name, byte[] Json)> Fields()
    {
        foreach (var (name, json) in new[]
                 {
                     ("string", "\"x\""), ("empty string", "\"\""), ("zero", "0"), ("negative", "-1"), ("fraction", "1.5"),
                     ("true", "true"), ("null", "null"), ("object", "{\"a\":1}"), ("empty object", "{}"), ("array", "[1,\"a\",null]"),
                     ("empty array", "[]"), ("NaN literal", "NaN"), ("NaN string", "\"NaN\""), ("Infinity literal", "Infinity"),
                     ("-Infinity literal", "-Infinity"), ("Infinity string", "\"Infinity\""), ("1e308", "1e308"), ("-1e308", "-1e308"),
                     ("1e309 (overflows double)", "1e309"), ("1e-400 (underflows)", "1e-400"), ("-0", "-0"),
                     ("2^31", "2147483648"), ("-2^31-1", "-2147483649"), ("2^63", "9223372036854775808"),
                     ("30 digits", "123456789012345678901234567890"), ("hex", "0x10"), ("leading zero", "017"),
                     ("lone high surrogate", "\"\\ud800\""), ("lone low surrogate", "\"a\\udfffb\""), ("reversed pair", "\"\\udc00\\ud800\""),
                     ("RTL override", "\"\\u202Eevil\\u202C \\u200F\\u061C\""), ("control characters", "\"\\u0000\\u0001\\u001b[31m\\u007f\\u0085\""),
                     ("line breaks", "\"a\\r\\nb\\u2028c\\u2029\""), ("emoji and CJK", "\"\\ud83d\\ude00 \\u4e2d\\u6587 e\\u0301\""),
                     ("special tokens", "\"<eos> <unk> <pad>\""), ("path", "\"../../etc/passwd\""), ("name@version junk", "\"tiny@-1@x\""),
                     ("duration junk", "\"-00:00:01\""), ("huge duration", "\"10675199.02:48:05.4775807\""),
                 })
            yield return (name, Encoding.UTF8.GetBytes(json));
        yield return ("invalid UTF-8 in a string", [(byte)'"', .. InvalidUtf8, (byte)'"']);
        yield return ("64 KB string", Quoted(new string('a', 64 * 1024)));
        yield return ("200,000 short words", Quoted(string.Join(' ', Enumerable.Repeat("ab", 200_000))));
        yield return ("10 MB string", Quoted(new string('w', TenMegabytes)));
        yield return ("5,000 stop strings", Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Range(0, 5000).Select(i => $"\"s{i}\"")) + "]"));
        yield return ("5,000 empty strings", Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("\"\"", 5000)) + "]"));
        yield return ("100,000 numbers", Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("7", 100_000)) + "]"));
        yield return ("10,000 nested arrays", Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000)));
        yield return ("10,000 nested objects", Encoding.UTF8.GetBytes(Nested(10_000)));
    }

    /// <summary>Whole bodies (with the content type they claim) that are not a valid request of any operation.</summary>
    public static IEnumerable<(string Name, byte[] Body, string? ContentType)> Bodies()
    {
        const string json = "application/json";
        foreach (var (name, body) in new[]
                 {
                     ("empty body", ""), ("whitespace", " \r\n\t "), ("null", "null"), ("number", "42"), ("string", "\"hello\""),
                     ("array", "[{}]"), ("truncated", "{\"a\":"), ("unterminated string", "{\"a\":\"b"), ("trailing garbage", "{} xyz"),
                     ("comment", "{/* c */}"), ("single quotes", "{'a':1}"), ("duplicate keys", "{\"a\":1,\"a\":2}"),
                     ("unknown field", "{\"notAField\":1}"), ("NaN body", "NaN"),
                 })
            yield return (name, Encoding.UTF8.GetBytes(body), json);
        yield return ("invalid UTF-8 body", InvalidUtf8, json);
        yield return ("invalid UTF-8 key", [(byte)'{', (byte)'"', .. InvalidUtf8, (byte)'"', (byte)':', (byte)'1', (byte)'}'], json);
        yield return ("UTF-16 body", Encoding.Unicode.GetBytes("{\"a\":1}"), json);
        yield return ("UTF-8 with BOM, empty object", [0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}'], json);
        yield return ("10,000 nested arrays", Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000)), json);
        yield return ("10,000 nested objects", Encoding.UTF8.GetBytes(Nested(10_000)), json);
        yield return ("10 MB of spaces", Encoding.UTF8.GetBytes(new string(' ', TenMegabytes)), json);
        yield return ("text/plain", "{}"u8.ToArray(), "text/plain");
        yield return ("application/xml", "<a/>"u8.ToArray(), "application/xml");
        yield return ("form", "a=1&b=2"u8.ToArray(), "application/x-www-form-urlencoded");
        yield return ("multipart without boundary", "--x\r\n\r\n"u8.ToArray(), "multipart/form-data");
        yield return ("multipart with a bad boundary", "garbage"u8.ToArray(), "multipart/form-data; boundary=\"zz\"");
        yield return ("unknown charset", "{}"u8.ToArray(), "application/json; charset=klingon");
        yield return ("utf-16 charset, UTF-8 bytes", "{}"u8.ToArray(), "application/json; charset=utf-16");
        yield return ("malformed content type", "{}"u8.ToArray(), "application/json; ; =;");
        yield return ("no content type", "{}"u8.ToArray(), null);
        yield return ("octet-stream", InvalidUtf8, "application/octet-stream");
    }

    /// <summary>Raw values for query parameters (percent-encoding included where it is the point).</summary>
    public static IEnumerable<(string Name, string Raw)> Query() =>
    [
        ("empty", ""), ("word", "abc"), ("negative", "-1"), ("zero", "0"), ("2^31", "2147483648"), ("2^63", "9223372036854775808"),
        ("30 digits", "123456789012345678901234567890"), ("fraction", "1.5"), ("NaN", "NaN"), ("Infinity", "Infinity"), ("1e308", "1e308"),
        ("invalid UTF-8", "%FF%FE%80"), ("lone surrogate (CESU)", "%ED%A0%80"), ("RTL override", "%E2%80%AEevil"),
        ("control characters", "%00%01%1B%7F"), ("spaces", "%20%20"), ("repeated", "1&{name}=2"), ("32 KB (near System.Uri's limit)", new string('q', 32 * 1024)),
        ("true", "true"), ("duration junk", "-5m"), ("percent junk", "%"), ("plus", "+"),
    ];

    /// <summary>
    /// Raw values for a route parameter (the others get valid values). No %00: the in-memory test host cannot send it,
    /// and Kestrel refuses it with 400 before the application sees the request.
    /// </summary>
    public static IEnumerable<(string Name, string Raw)> Route() =>
    [
        ("unknown", "nope"), ("dot dot", ".."), ("encoded dot dot", "%2E%2E"), ("encoded slash", "a%2Fb"),
        ("invalid UTF-8", "%FF%FE"), ("lone surrogate (CESU)", "%ED%A0%80"), ("RTL override", "%E2%80%AEtiny"), ("space", "%20"),
        ("300 characters", new string('a', 300)), ("10,000 characters", new string('a', 10_000)), ("at only", "@"), ("trailing at", "tiny@"),
        ("negative version", "tiny@-1"), ("huge version", "tiny@99999999999999999999"), ("two versions", "tiny@1@2"), ("upper case", "TINY"),
        ("reserved device name", "CON"), ("backslash", "a%5Cb"), ("percent junk", "%"),
    ];

    private static byte[] Quoted(string s) => Encoding.UTF8.GetBytes("\"" + s + "\"");

    private static string Nested(int depth)
    {
        var sb = new StringBuilder(depth * 6);
        for (var i = 0; i < depth; i++) sb.Append("{\"a\":");
        sb.Append('1');
        sb.Append('}', depth);
        return sb.ToString();
    }
}
