using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Engine.IO;

/// <summary>
/// Conversions between float32 and the 16-bit float formats checkpoints are stored in. bfloat16 is the top half of a
/// float32, so widening is a shift; narrowing rounds to nearest, ties to even, as PyTorch does, and keeps NaNs NaN.
/// </summary>
public static class ReducedPrecision
{
    public static void Bf16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref uint dst = ref MemoryMarshal.GetReference(bits);
            for (; i <= source.Length - Vector512<ushort>.Count; i += Vector512<ushort>.Count)
            {
                var (lower, upper) = Vector512.Widen(Vector512.LoadUnsafe(ref src, (nuint)i));
                (lower << 16).StoreUnsafe(ref dst, (nuint)i);
                (upper << 16).StoreUnsafe(ref dst, (nuint)(i + Vector512<uint>.Count));
            }
        }
        for (; i < source.Length; i++) bits[i] = (uint)source[i] << 16;
    }

    public static void SingleToBf16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref uint src = ref MemoryMarshal.GetReference(bits);
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - Vector512<ushort>.Count; i += Vector512<ushort>.Count)
            {
                var lower = RoundToBf16(Vector512.LoadUnsafe(ref src, (nuint)i));
                var upper = RoundToBf16(Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<uint>.Count)));
                Vector512.Narrow(lower, upper).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++) destination[i] = RoundToBf16(bits[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort RoundToBf16(float value) => RoundToBf16(BitConverter.SingleToUInt32Bits(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Bf16ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    // Adding 0x7FFF plus the lowest kept bit rounds half-way cases towards the even neighbour. A NaN could round into
    // infinity, so NaNs are truncated instead, with the quiet bit set so that no payload becomes zero.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort RoundToBf16(uint bits)
    {
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> RoundToBf16(Vector512<uint> bits)
    {
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
        var quietNan = (bits >> 16) | Vector512.Create(0x40u);
        var isNan = Vector512.GreaterThan(bits & Vector512.Create(0x7FFF_FFFFu), Vector512.Create(0x7F80_0000u));
        return Vector512.ConditionalSelect(isNan, quietNan, rounded);
    }

    public static void HalfToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(source), destination);
    }

    /// <summary>IEEE round to nearest even; values beyond ±65504 become infinities.</summary>
    public static void SingleToHalf(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<ushort, Half>(destination));
    }

    public static void DoubleToSingle(ReadOnlySpan<double> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        for (int i = 0; i < source.Length; i++) destination[i] = (float)source[i];
    }

    private static void CheckLengths(int source, int destination)
    {
        if (source != destination)
            throw new ArgumentException($"Cannot convert {source} values into a span of {destination}.");
    }
}
