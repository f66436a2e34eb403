using SoftPrompt.Engine;

namespace SoftPrompt.Models;

/// <summary>The named parameter list every model keeps, which loading, saving and freezing go through.</summary>
public abstract class ParameterizedModel
{
    private readonly List<NamedParameter> _parameters = new();

    /// <summary>Parameters under their Hugging Face names, in our [out, in] layout.</summary>
    public IReadOnlyList<NamedParameter> Parameters => _parameters;

    public long ParameterCount => _parameters.Sum(p => (long)p.Tensor.Length);

    /// <summary>Freezes everything, or makes everything trainable. Frozen weights get no gradient work at
    /// all.</summary>
    public void SetTrainable(bool trainable) => SetTrainable(_ => trainable);

    public void SetTrainable(Func<string, bool> isTrainable)
    {
        foreach (var p in _parameters) p.Tensor.RequiresGrad = isTrainable(p.Name);
    }

    /// <summary>
    /// Holds every block's weight matrix as bfloat16 from now on (rounded to nearest, ties to even; frozen), as
    /// loading a bf16 checkpoint with bfloat16 weights does: half the memory, and products in the bfloat16 kernels
    /// where the CPU has them. Embeddings, norms and biases stay float32; the LM head gets a bfloat16 copy for its
    /// products (<see cref="HoldBf16CopiesForProducts"/>). Returns how many matrices are held in bfloat16.
    /// </summary>
    public int HoldBlockMatricesInBf16()
    {
        HoldBf16CopiesForProducts();
        return HoldBlockMatrices(t => t.IsBf16, t => t.HoldAsBf16());
    }

    // Every block's 2-D weight not held so already, frozen and held as hold() does; how many were.
    private int HoldBlockMatrices(Func<Tensor, bool> heldAlready, Action<Tensor> hold)
    {
        int held = 0;
        foreach (var p in _parameters)
        {
            if (p.Layer is null || p.Tensor.Rank != 2 || heldAlready(p.Tensor)) continue;
            p.Tensor.RequiresGrad = false;
            hold(p.Tensor);
            held++;
        }
        return held;
    }

    /// <summary>
    /// Holds every block's weight matrix as int8 from now on (a scale per output row, <see cref="Tensor.HoldAsInt8"/>;
    /// frozen), and gives the LM head an int8 copy for its products: inference at a quarter of float32's weight bytes,
    /// activations quantized per row as each product reads them. Embeddings, norms and biases stay float32. Returns
    /// how many matrices are held in int8.
    /// </summary>
    public int HoldBlockMatricesInInt8()
    {
        foreach (var matrix in MatricesReadByProducts) matrix.HoldInt8CopyForProducts();
        return HoldBlockMatrices(t => t.IsInt8, t => t.HoldAsInt8());
    }

    /// <summary>Frozen float32 matrices that products also read (an LM head, often tied to the token embeddings) get a
    /// bfloat16 copy for those products (<see cref="Tensor.HoldBf16CopyForProducts"/>).</summary>
    public void HoldBf16CopiesForProducts()
    {
        foreach (var matrix in MatricesReadByProducts) matrix.HoldBf16CopyForProducts();
    }

    /// <summary>Matrices outside the blocks that products read: the LM head.</summary>
    protected virtual IEnumerable<Tensor> MatricesReadByProducts => [];

    /// <summary>Whether block <paramref name="layer"/> has a parameter that trains.</summary>
    protected bool LayerIsTrainable(int layer) => _parameters.Any(p => p.Layer == layer && p.Tensor.RequiresGrad);

    public Tensor Parameter(string name) =>
        _parameters.FirstOrDefault(p => p.Name == name)?.Tensor
        ?? throw new KeyNotFoundException($"The model has no parameter named '{name}'.");

    /// <summary>One matrix for queries, keys and values (GPT-2's c_attn, GPT-NeoX's query_key_value, Phi-3's
    /// qkv_proj).</summary>
    protected const ParameterRole Qkv = ParameterRole.Query | ParameterRole.Key | ParameterRole.Value;

    protected Tensor Add(string name, params int[] shape) => Add(name, ParameterRole.None, null, shape);

    /// <summary>Registers a parameter with its role and block (<see cref="NamedParameter"/>).</summary>
    protected Tensor Add(string name, ParameterRole role, int? layer, params int[] shape)
    {
        var t = Tensor.Parameter(shape, trainable: false, name);
        _parameters.Add(new NamedParameter(name, t, role, layer));
        return t;
    }

    protected static float Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
