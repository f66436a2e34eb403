namespace SoftPrompt.Engine.Optim;

/// <summary>What training loops and checkpoints need of an optimizer.</summary>
public interface IOptimizer
{
    IReadOnlyList<Tensor> Parameters { get; }
    float LearningRate { get; set; }
    int Step { get; }
    void Update();
    void ZeroGrad();
    /// <summary>Every buffer of optimizer state under a stable name, for checkpoints (restored in place).</summary>
    IEnumerable<(string Name, float[] Values)> State();
    void RestoreStep(int step);
}
