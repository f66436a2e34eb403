namespace SoftPrompt.Engine;

/// <summary>
/// Records the backward step of every differentiable op run through it, and owns the memory of the activations.
/// One step: ops run forward (allocating from the pool), <see cref="Backward"/> replays the recorded steps in reverse,
/// <see cref="Reset"/> returns every activation and activation gradient to the pool. Because a training step asks for
/// the same sizes every time, the pool stops allocating after the first step.
/// A tape with <see cref="IsRecording"/> false still pools memory but records nothing (inference).
/// </summary>
public sealed class Tape
{
    private readonly List<Action> _backward = new();
    private readonly List<int> _ownedWhenRecorded = new(); // per backward step: how many activations existed by then
    private readonly List<Tensor> _owned = new();
    private readonly Dictionary<int, Stack<float[]>> _pool = new();

    public Tape(bool recording = true) => IsRecording = recording;

    public bool IsRecording { get; set; }

    /// <summary>
    /// Hand each activation's gradient back to the pool as soon as the backward step of the op that made it has run —
    /// every consumer's step has run by then, so nothing reads it again — instead of holding all of them until
    /// <see cref="Reset"/>. Halves a step's peak memory; for training loops that read only their parameters'
    /// gradients. An activation made outside any op and given a gradient (a leaf the caller owns) must not be read
    /// after backward either: its gradient goes back with the first op recorded after it.
    /// </summary>
    public bool ReleaseGradientsEagerly { get; set; }

    /// <summary>A second recording tape for replaying a segment in backward (<see cref="Autograd.Fn.Recomputed"/>),
    /// made on first use and kept, so its pool serves every segment of every step. It hands gradients back eagerly:
    /// only what reaches the segment's input and parameters is read.</summary>
    public Tape Replay => _replay ??= new Tape { ReleaseGradientsEagerly = true };
    private Tape? _replay;

    /// <summary>Number of float arrays allocated (not reused) over the tape's life, its replay tape's included; flat
    /// after warm-up.</summary>
    public long Allocations => _allocations + (_replay?.Allocations ?? 0);
    public long PooledBytes => _pooledBytes + (_replay?.PooledBytes ?? 0);
    private long _allocations, _pooledBytes;

    /// <summary>True when an op with these inputs must record a backward step.</summary>
    public bool NeedsGrad(Tensor a) => IsRecording && a.RequiresGrad;
    public bool NeedsGrad(Tensor a, Tensor? b) => IsRecording && (a.RequiresGrad || (b?.RequiresGrad ?? false));
    public bool NeedsGrad(Tensor a, Tensor? b, Tensor? c) => IsRecording
        && (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));
    public bool NeedsGrad(ReadOnlySpan<Tensor?> inputs)
    {
        if (!IsRecording) return false;
        foreach (var t in inputs) if (t is not null && t.RequiresGrad) return true;
        return false;
    }

    /// <summary>A new activation (contents undefined unless <paramref name="zero"/>).</summary>
    public Tensor NewTensor(int[] shape, bool requiresGrad = false, bool zero = false)
    {
        int n = Tensor.ShapeLength(shape);
        var data = Rent(n, zero);
        var t = new Tensor(data, 0, shape, requiresGrad, isParameter: false, owner: this, baseTensor: null);
        _owned.Add(t);
        return t;
    }

    public Tensor NewLike(Tensor like, bool requiresGrad = false, bool zero = false) =>
        NewTensor((int[])like.Shape.Clone(), requiresGrad, zero);

    /// <summary>Hands a scratch tensor back to the pool before <see cref="Reset"/>, when nothing will read it again
    /// (attention's probabilities in a pass that records no backward). Reset skips it afterwards.</summary>
    public void ReturnEarly(Tensor scratch)
    {
        if (scratch.Owner != this) throw new ArgumentException("ReturnEarly: the tensor does not belong to this tape.");
        scratch.ReleaseTo(this);
    }

    /// <summary>How many activations the tape has made this step (a mark for <see cref="ReturnMadeSince"/>).</summary>
    public int OwnedCount => _owned.Count;

    /// <summary>In a pass that records nothing, returns every activation made since <paramref name="mark"/> except
    /// <paramref name="keep"/> (and what it views) to the pool: the caller knows nothing else will be read.</summary>
    public void ReturnMadeSince(int mark, Tensor keep)
    {
        if (IsRecording)
            throw new InvalidOperationException(
                "ReturnMadeSince: a recording tape's backward steps still need these activations.");
        for (int i = mark; i < _owned.Count; i++)
            if (!keep.SharesStorageWith(_owned[i])) _owned[i].ReleaseTo(this);
    }

    /// <summary>Scratch memory for the current step (returned at <see cref="Reset"/>).</summary>
    public Tensor Scratch(int length, bool zero = false) => NewTensor(new[] { length }, false, zero);

    public void Record(Action backward)
    {
        if (!IsRecording) return;
        _backward.Add(backward);
        _ownedWhenRecorded.Add(_owned.Count);
        if (OpProfile.Enabled) OpProfile.Forward(backward);
    }

    /// <summary>Seeds d(output) = 1 for a scalar and runs the recorded backward steps in reverse.</summary>
    public void Backward(Tensor output)
    {
        if (output.Length != 1)
            throw new ArgumentException(
                $"Backward() without a seed needs a scalar output, got shape [{string.Join(", ", output.Shape)}].");
        output.Grad[0] += 1f;
        RunBackward();
    }

    /// <summary>Seeds d(output) with <paramref name="seed"/> and runs the recorded backward steps in reverse.</summary>
    public void Backward(Tensor output, ReadOnlySpan<float> seed)
    {
        if (seed.Length != output.Length)
            throw new ArgumentException("Seed gradient length does not match the output.");
        var g = output.Grad;
        for (int i = 0; i < g.Length; i++) g[i] += seed[i];
        RunBackward();
    }

    private void RunBackward()
    {
        for (int i = _backward.Count - 1; i >= 0; i--)
        {
            long start = OpProfile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            _backward[i]();
            if (OpProfile.Enabled) OpProfile.Backward(_backward[i], start);
            if (!ReleaseGradientsEagerly) continue;
            // The activations made since the previous recorded step are this op's outputs (and scratch): their
            // gradients were complete before this step and are consumed now.
            for (int j = i == 0 ? 0 : _ownedWhenRecorded[i - 1]; j < _ownedWhenRecorded[i]; j++) _owned[j].ReleaseGrad(
                this);
        }
        _backward.Clear();
        _ownedWhenRecorded.Clear();
    }

    /// <summary>Returns all activations and their gradients to the pool and forgets the recorded steps.</summary>
    public void Reset()
    {
        if (OpProfile.Enabled) OpProfile.MarkStart();
        TrimIdleArrays();
        foreach (var t in _owned) t.ReleaseTo(this);
        _owned.Clear();
        _backward.Clear();
        _ownedWhenRecorded.Clear();
    }

    internal float[] RentGrad(int length) => Rent(length, zero: true);

    internal float[] Rent(int length, bool zero)
    {
        // Sizes are rounded up to one of eight steps per power of two (at most 12.5% spare), and a request may take a
        // free array up to twice its size, so batches of varying lengths reuse each other's arrays instead of growing
        // the pool with one set per exact size.
        length = PoolSize(length);
        long limit = Math.Min(Array.MaxLength, 2L * length);
        for (int size = length; size <= limit; size = PoolSize(size + 1))
        {
            if (_pool.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                var a = stack.Pop();
                _idleBytes -= (long)a.Length * sizeof(float);
                _stepBytes += (long)a.Length * sizeof(float);
                if (zero) Array.Clear(a);
                return a;
            }
            if (size == int.MaxValue || length <= 64) break;
        }
        _allocations++;
        _pooledBytes += (long)length * sizeof(float);
        _stepBytes += (long)length * sizeof(float);
        return new float[length]; // new arrays are zeroed
    }

    // Bytes sitting unused in the pool, and bytes handed out since the last Reset.
    private long _idleBytes, _stepBytes;

    // At Reset: if the arrays this step did not use outweigh twice what it did use, they are the leftovers of other
    // shapes (longer batches, an earlier phase); let the GC have them. A run of same-shaped steps never trims.
    private void TrimIdleArrays()
    {
        if (_idleBytes > 2 * _stepBytes && _idleBytes > (64L << 20))
        {
            _pooledBytes -= _idleBytes;
            _pool.Clear();
            _idleBytes = 0;
        }
        _stepBytes = 0;
    }

    internal static int PoolSize(int length)
    {
        if (length <= 64) return length;
        int unit = 1 << (System.Numerics.BitOperations.Log2((uint)length) - 3);
        return (int)Math.Min(Array.MaxLength, ((long)length + unit - 1) / unit * unit);
    }

    internal void Return(float[] array)
    {
        if (array.Length == 0) return;
        _idleBytes += (long)array.Length * sizeof(float);
        if (!_pool.TryGetValue(array.Length, out var stack)) _pool[array.Length] = stack = new Stack<float[]>();
        stack.Push(array);
    }
}
