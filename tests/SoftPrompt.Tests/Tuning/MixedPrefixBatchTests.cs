using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>Rows of one batch with different adapters — a soft prompt, prefix tuning, deep prompts on the top layers,
/// P-tuning's pseudo tokens, both, or nothing — each compute what they would alone.</summary>
public class MixedPrefixBatchTests
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);

    private static PromptedRow[] Rows()
    {
        var rows = RowsWithoutPTuning();
        // A P-tuning row: its encoder's vectors in the template's pseudo-token slots (before the text and before the
        // answer).
        var template = new SoftPrompt.Tuning.PTuning.PTuningTemplate("{soft*2}Story: {text}{soft*3} The mood was");
        var encoder = new SoftPrompt.Tuning.PTuning.PromptEncoder(5, Loaded.Model.Config.HiddenSize,
            SoftPrompt.Tuning.PTuning.PromptEncoderKind.Mlp, 16, seed: 8);
        var (tokens, slots) = template.Encode(Loaded.Tokenizer!, new Dictionary<string,
            string> { ["text"] = "A cat slept in the sun." }, 200, 0);
        var vectors = encoder.Forward(new Tape(recording: false)).ToArray();
        return [.. rows, new PromptedRow(null, tokens) { Vectors = Tensor.FromArray(vectors,
            new[] { 5, Loaded.Model.Config.HiddenSize }), VectorSlots = slots }];
    }

    private static PromptedRow[] RowsWithoutPTuning()
    {
        var model = Loaded.Model;
        var tokenizer = Loaded.Tokenizer!;
        var prompt = new PromptEmbedding(3, model.Config.HiddenSize);
        prompt.InitializeUniform(1);
        var prefix = new PrefixAdapter(model.Config, new PrefixTuningOptions(4, Reparameterize: true, MlpHiddenSize: 16,
            Seed: 2));
        var deepTop = new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(6, PrefixLayers.Top(2), seed: 3));
        return new[]
        {
            new PromptedRow(prompt, tokenizer.Encode("Once upon a time, there was a cat.")),
            new PromptedRow(null, tokenizer.Encode("The dog ran.")) { Prefix = prefix },
            new PromptedRow(null, tokenizer.Encode("Lily and Tom went to the park to play.")) { Prefix = deepTop },
            new PromptedRow(null, tokenizer.Encode("A bird sang.")),
            new PromptedRow(prompt, tokenizer.Encode("The sun was hot today.")) { Prefix = prefix },
        };
    }

    [Fact]
    public void Each_row_of_a_batch_of_mixed_adapters_matches_that_row_run_alone()
    {
        var model = Loaded.Model;
        var rows = Rows();
        double worst = MixedBatchCheck.WorstDifference(model, rows).Relative;
        // Relative to the logits' size (~20 here): a prefix padded with masked filler changes where vectorised sums
        // over the key axis split, so the last bits move (measured: 1.5e-5 absolute, 8e-7 relative); a wrong mask moves
        // O(1).
        Assert.True(worst <= 2e-6, $"max |Δlogit| / max |logit| {worst:E2} between the mixed batch and rows run alone");

        // The adapters matter: the prefixed row differs from the same text without its prefix.
        var plainTape = new Tape(recording: false);
        var plain = MixedPromptBatch.Build(plainTape, model, new[] { rows[1] with { Prefix = null } });
        var plainLogits = model.Forward(plainTape, plain.Input).ToArray();
        var prefixedTape = new Tape(recording: false);
        var prefixedLogits = model.Forward(prefixedTape, MixedPromptBatch.Build(prefixedTape, model,
            new[] { rows[1] }).Input).ToArray();
        Assert.True(plainLogits.Zip(prefixedLogits, (a, b) => Math.Abs(a - b)).Max() > 1e-3);
    }

    [Fact]
    public void Multi_task_training_through_one_batch_sends_each_prefix_the_gradient_of_its_own_rows()
    {
        var model = Loaded.Model;
        model.SetTrainable(false);
        var rows = RowsWithoutPTuning();
        var prefix = rows[1].Prefix!;
        var deep = rows[2].Prefix!;

        float[] Gradient(PrefixAdapter adapter, IReadOnlyList<PromptedRow> batchRows)
        {
            foreach (var t in prefix.Trainable.Concat(deep.Trainable)) t.ZeroGrad();
            var tape = new Tape();
            var batch = MixedPromptBatch.Build(tape, model, batchRows);
            var hidden = model.Hidden(tape, batch.Input);
            // loss: Σ over rows of their last hidden state's sum — each row's own term
            var last = Fn.Embedding(tape, hidden.Reshape(batchRows.Count * batch.Length, model.Config.HiddenSize),
                Enumerable.Range(0, batchRows.Count).Select(r => r * batch.Length + batch.Length - 1).ToArray());
            tape.Backward(Fn.Sum(tape, last));
            var g = adapter.Trainable[0].HasGrad ? adapter.Trainable[0].Grad.ToArray()
                : new float[adapter.Trainable[0].Length];
            tape.Reset();
            return g;
        }

        var together = Gradient(deep, rows);
        var alone = Gradient(deep, new[] { rows[2] });
        Assert.Contains(alone, x => x != 0);
        Assert.True(together.Zip(alone, (a, b) => Math.Abs(a - b)).Max() <= 1e-5);
        var prefixTogether = Gradient(prefix, rows);
        var prefixAlone = Gradient(prefix, new[] { rows[1], rows[4] });
        Assert.True(prefixTogether.Zip(prefixAlone, (a, b) => Math.Abs(a - b)).Max() <= 1e-5);
    }

    [Fact]
    public void Requests_of_tasks_with_different_prefixes_score_as_each_task_alone()
    {
        var model = Loaded.Model;
        var task = new SoftPrompt.Data.Tasks.ClassificationTask("mood", "Story: {text}\nThe mood was",
            new Dictionary<string, string> { ["happy"] = " happy", ["sad"] = " very sad" });
        var rows = Rows();
        var first = new PromptClassifier(model, Loaded.Tokenizer!, task, null) { Adapter = rows[1].Prefix };
        var second = new PromptClassifier(model, Loaded.Tokenizer!, task, null) { Adapter = rows[2].Prefix };
        var examples = new[] { "Tom cried.", "Lily played with her dog in the sun all day long." }
            .Select(t => new SoftPrompt.Data.Tasks.LabeledExample(new Dictionary<string, string> { ["text"] = t },
                "happy")).ToList();
        var mixed = MixedScoring.LabelScores(model, examples.Select(e => (first, e))
            .Concat(examples.Select(e => (second, e))).ToList(), rowsPerBatch: 8);
        var alone = first.LabelScores(examples).Concat(second.LabelScores(examples)).ToList();
        for (int q = 0; q < mixed.Length; q++)
            for (int l = 0; l < 2; l++) Assert.Equal(alone[q][l], mixed[q][l], 1e-4);
        Assert.NotEqual(mixed[0][0], mixed[2][0], 3); // the two prefixes do differ
    }
}
