using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>Layer hooks reach the model the same way through the training path (right-padded rows) and the scoring
/// path (left-padded mixed batches).</summary>
public class ModelAdapterPlumbingTests
{
    private static readonly LoadedModel Loaded = MoodTask.Load();
    private static readonly ClassificationTask Task = MoodTask.Task();

    /// <summary>Two fixed extra key/value rows at every layer, the shape prefix tuning uses.</summary>
    private sealed class FixedExtraRows(Tensor keys, Tensor values) : IModelAdapter, ILayerHooks
    {
        public List<int[]> SeenRowStarts { get; } = new();
        public ILayerHooks Hooks(int[] rowStarts)
        {
            SeenRowStarts.Add(rowStarts);
            return this;
        }
        public ExtraKeyValues? ExtraKeyValues(Tape tape, int layer, int batch)
        {
            var k = new Tensor[batch];
            var v = new Tensor[batch];
            Array.Fill(k, keys);
            Array.Fill(v, values);
            return new ExtraKeyValues(Fn.Concat(tape, 0, k), Fn.Concat(tape, 0, v));
        }
        public Tensor LayerInput(Tape tape, int layer, Tensor hidden) => hidden;
    }

    [Fact]
    public void Training_loss_and_label_scores_see_the_same_adapter()
    {
        var model = Loaded.Model;
        int kv = model.Config.KvWidth;
        var adapter = new FixedExtraRows(GradCheck.Random(3, 1f, 1, 2, kv), GradCheck.Random(4, 1f, 1, 2, kv));
        var plain = new PromptClassifier(model, Loaded.Tokenizer!, Task, prompt: null);
        var adapted = new PromptClassifier(model, Loaded.Tokenizer!, Task, prompt: null) { Adapter = adapter };
        var examples = new[]
        {
            new LabeledExample(new Dictionary<string, string> { ["text"] = "Lily played with her dog in the sun." },
                "happy"),
            new LabeledExample(new Dictionary<string, string> { ["text"] = "Tom cried." }, "sad"),
        };
        var scores = adapted.LabelScores(examples, rowsPerBatch: 4); // left-padded: the short rows start later
        Assert.Contains(adapter.SeenRowStarts, starts => starts.Any(s => s > 0));
        var plainScores = plain.LabelScores(examples);
        Assert.True(Math.Abs(scores[0][0] - plainScores[0][0]) > 1e-3, "the extra rows should change the scores");
        foreach (var (example, index) in examples.Select((e, i) => (e, i)))
        {
            var tape = new Tape(recording: false);
            float loss = adapted.Loss(tape, new[] { example })[0];
            int gold = Task.Labels.ToList().IndexOf(example.Label);
            Assert.Equal(-scores[index][gold] / adapted.LabelTokens[example.Label].Length, loss, 1e-3);
        }
    }
}
