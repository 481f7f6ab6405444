using System.Reflection;
using System.Security.Cryptography;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Tests.Security;

/// <summary>
/// Keys are compared with <see cref="CryptographicOperations.FixedTimeEquals"/>: asserted on the compiled code. The
/// comparison method's IL must call FixedTimeEquals, and the resolver's lookup (its async state machine) must compare
/// through that method and call no ordinary equality (SequenceEqual, string equality) on the way.
/// </summary>
public sealed class ConstantTimeTests
{
    [Fact]
    public void The_key_comparison_calls_FixedTimeEquals()
    {
        var calls = CalledMethods(typeof(ApiKeySecrets).GetMethod(nameof(ApiKeySecrets.Matches))!);
        Assert.Contains(calls, m => m.DeclaringType == typeof(CryptographicOperations) && m.Name == nameof(CryptographicOperations.FixedTimeEquals));
    }

    [Fact]
    public void The_resolver_compares_keys_only_through_the_constant_time_comparison()
    {
        var moveNext = typeof(ApiKeyResolver).GetNestedTypes(BindingFlags.NonPublic)
            .Single(t => t.Name.Contains(nameof(ApiKeyResolver.ResolveAsync)))
            .GetMethod("MoveNext", BindingFlags.Instance | BindingFlags.NonPublic)!;
        var calls = CalledMethods(moveNext);
        Assert.Contains(calls, m => m.DeclaringType == typeof(ApiKeySecrets) && m.Name == nameof(ApiKeySecrets.Matches));
        Assert.DoesNotContain(calls, m => m.Name is "SequenceEqual" or "op_Equality" or "Equals" or "CompareOrdinal" or "Compare");
    }

    [Fact]
    public void Matches_tells_equal_and_different_digests_apart()
    {
        var a = ApiKeySecrets.Hash("one-key-0123456789");
        Assert.True(ApiKeySecrets.Matches(a, ApiKeySecrets.Hash("one-key-0123456789")));
        Assert.False(ApiKeySecrets.Matches(a, ApiKeySecrets.Hash("one-key-0123456780")));
    }

    /// <summary>Methods a method body calls (call, callvirt, newobj), read from its IL.</summary>
    private static List<MethodBase> CalledMethods(MethodInfo method)
    {
        var il = method.GetMethodBody()!.GetILAsByteArray()!;
        var found = new List<MethodBase>();
        for (var i = 0; i + 4 < il.Length; i++)
        {
            if (il[i] is not (0x28 or 0x6F or 0x73)) continue;
            var token = BitConverter.ToInt32(il, i + 1);
            if ((token >> 24) is not (0x06 or 0x0A or 0x2B)) continue;
            try
            {
                if (method.Module.ResolveMethod(token, method.DeclaringType?.GetGenericArguments(), method.GetGenericArguments()) is { } m) found.Add(m);
            }
            catch (ArgumentException) { }
        }
        return found;
    }
}
