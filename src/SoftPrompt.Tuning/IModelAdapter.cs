using SoftPrompt.Models;

namespace SoftPrompt.Tuning;

/// <summary>
/// A method that changes the frozen model inside its layer stack (prefix tuning, deep prompts, LoRA, adapters, …)
/// rather than, or besides, a soft prompt in front of the input. Objectives ask it for the hooks of each forward pass.
/// </summary>
public interface IModelAdapter
{
    /// <summary>Hooks for one forward pass of <paramref name="rowStarts"/>.Length rows; row r's own sequence (its soft
    /// prompt, if any, then its text) begins at position rowStarts[r] — batches that left-pad rows shift it.</summary>
    ILayerHooks Hooks(int[] rowStarts);
}
