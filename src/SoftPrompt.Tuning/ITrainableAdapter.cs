using SoftPrompt.Engine;

namespace SoftPrompt.Tuning;

/// <summary>
/// One method of the comparison as the trainer and the report see it: the tensors it trains, what a task must store,
/// and its adapter directory. Every method folder (PrefixTuning/, Lora/, …) provides one.
/// </summary>
public interface ITrainableAdapter : IModelAdapter
{
    /// <summary>Method name as `compare --methods` spells it, e.g. "prefix", "lora".</summary>
    string Method { get; }

    /// <summary>What the optimizer updates; may hold more than is stored (prefix tuning's reparameterisation
    /// MLP).</summary>
    IReadOnlyList<Tensor> Trainable { get; }

    /// <summary>Values a task keeps after training (the trainable-parameter figure of the report).</summary>
    long StoredValueCount { get; }

    /// <summary>Writes the adapter directory (PEFT's adapter_config.json + adapter_model.safetensors where PEFT has the
    /// method, plus our own state for resuming), atomically.</summary>
    void Save(string directory, string baseModel);
}
