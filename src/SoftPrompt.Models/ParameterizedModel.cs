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
