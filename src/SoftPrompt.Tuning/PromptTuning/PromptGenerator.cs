using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Generation;
using SoftPrompt.Training.Metrics;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Generation with a soft prompt over a frozen model: training minimises the target's tokens (followed by end of
/// text, so the model learns to stop) given [P; x]; evaluation decodes greedily with the prompt processed once and
/// scores the output against the target with BLEU and ROUGE-L.
/// </summary>
public sealed class PromptGenerator : IPromptObjective<TextExample>
{
    private readonly CausalLanguageModel _model;
    private readonly ITokenizer _tokenizer;
    private readonly int _endOfText;

    public PromptGenerator(CausalLanguageModel model, ITokenizer tokenizer, GenerationTask task,
        PromptEmbedding? prompt, int maxTargetTokens = 48)
    {
        _model = model;
        _tokenizer = tokenizer;
        Task = task;
        Prompt = prompt;
        MaxTargetTokens = maxTargetTokens;
        if (prompt?.Placement == PromptPlacement.BeforeAnswer)
            throw new ArgumentException(
                "Generation puts the soft prompt before the input; --placement before-answer is for classification.");
        _endOfText = tokenizer.EosId ?? throw new ArgumentException(
            "Generation tuning needs a tokenizer with an end-of-text token.");
        MaxInputTokens = model.Config.MaxPositions - (prompt?.Length ?? 0) - maxTargetTokens - 1;
        if (MaxInputTokens < 4)
            throw new ArgumentException(
                $"The model's {model.Config.MaxPositions} positions leave no room for input after the prompt and " +
                $"target.");
    }

    public GenerationTask Task { get; }
    public PromptEmbedding? Prompt { get; }
    /// <summary>Changes inside the layer stack (prefix tuning, LoRA, …), in training and in decoding alike.</summary>
    public IModelAdapter? Adapter { get; init; }
    public int MaxTargetTokens { get; }
    public int MaxInputTokens { get; }
    public string ScoreName => "rouge_l";

    public int[] InputTokens(TextExample example)
    {
        var ids = _tokenizer.Encode(Task.Render(example));
        return ids.Length <= MaxInputTokens ? ids : ids[^MaxInputTokens..];
    }

    private int[] TargetTokens(TextExample example)
    {
        var ids = _tokenizer.Encode(Task.Target(example));
        return ids.Length <= MaxTargetTokens ? [.. ids, _endOfText] : ids[..MaxTargetTokens];
    }

    public Tensor Loss(Tape tape, IReadOnlyList<TextExample> batch)
    {
        var rows = batch.Select(e => (InputTokens(e), TargetTokens(e))).ToList();
        var (logits, targets, _) = PromptedSequences.Logits(tape, _model, Prompt, rows, _endOfText, Adapter);
        return Fn.CrossEntropy(tape, logits, targets);
    }

    /// <summary>Greedy continuation of the input, up to end of text or <paramref name="maxNewTokens"/> (default
    /// <see cref="MaxTargetTokens"/>).</summary>
    public string Generate(TextExample example, int? maxNewTokens = null) => _tokenizer.Decode(GenerateTokens(example,
        maxNewTokens).ToArray()).Trim();

    /// <summary>The tokens of <see cref="Generate"/> as they are decoded (end of text left out), for
    /// streaming.</summary>
    public IEnumerable<int> GenerateTokens(TextExample example, int? maxNewTokens = null)
    {
        var options = new GenerationOptions { MaxNewTokens = maxNewTokens ?? MaxTargetTokens,
            StopTokens = new[] { _endOfText }, Hooks = Adapter?.Hooks(new int[1]) };
        return Generator.Generate(_model, InputTokens(example), options, Prompt?.Prompt).Where(id => id != _endOfText);
    }

    public (double Bleu, double RougeL, string[] Outputs) Evaluate(IReadOnlyList<TextExample> examples)
    {
        var outputs = examples.Select(e => Generate(e)).ToArray();
        var references = examples.Select(e => Task.Target(e).Trim()).ToArray();
        return (TextMetrics.CorpusBleu(references, outputs), TextMetrics.MeanRougeL(references, outputs), outputs);
    }

    public double Score(IReadOnlyList<TextExample> examples) => Evaluate(examples).RougeL;
}
