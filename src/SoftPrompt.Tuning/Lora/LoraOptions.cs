using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Lora;

public sealed record LoraOptions
{
    /// <summary>Rank r of each update ΔW = B·A.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>PEFT's lora_alpha: the update is scaled by α/r, so a change of rank keeps the step size
    /// comparable.</summary>
    public float Alpha { get; init; } = 16;

    /// <summary>α/√r instead (Kalajdzievski's rank-stabilised LoRA, PEFT's use_rslora).</summary>
    public bool RankStabilized { get; init; }

    /// <summary>Module names as PEFT matches them: a module's full name or its last dotted parts. Null means the
    /// paper's choice, queries and values: the projections the model declares as such (a fused q/k/v matrix such as
    /// GPT-2's c_attn included).</summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    public int Seed { get; init; } = 1;

    public float Scaling => RankStabilized ? Alpha / MathF.Sqrt(Rank) : Alpha / Rank;
}
