using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Baselines;
using SoftPrompt.Tuning.Cloze;
using SoftPrompt.Tuning.Lora;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>The seams that let the comparison's methods run on a BERT: which weights the baselines pick, LoRA's
/// targets, the cloze objective with an adapter, and the registry's refusal of decoder-only methods.</summary>
public class EncoderMethodsTests
{
    private static readonly ClassificationTask Task = new("food", "Review: {text}\nWas the food great?",
        new Dictionary<string, string> { ["great"] = " great", ["other"] = " other" },
            ClozeTemplate: "Review: {text} It was [MASK].");

    private static readonly LabeledExample[] Examples =
    [
        new(new Dictionary<string, string> { ["text"] = "lovely soup and fresh bread" }, "great"),
        new(new Dictionary<string, string> { ["text"] = "cold fries, rude staff" }, "other"),
    ];

    private static (Bert Model, Data.Tokenizers.WordPieceTokenizer Tokenizer) Fresh() =>
        TinyBert.Build(Examples.Select(e => Task.AsCloze().Render(e) + " great other"));

    private static ClozeClassifier Cloze((Bert Model, Data.Tokenizers.WordPieceTokenizer Tokenizer) bert,
        IModelAdapter? adapter = null) =>
        new(bert.Model, bert.Tokenizer, Task.AsCloze()) { Adapter = adapter };

    [Fact]
    public void BitFit_on_bert_trains_every_bias_vector_and_one_step_changes_nothing_else()
    {
        var bert = Fresh();
        var subset = WeightSubset.Select(bert.Model, "bitfit");
        Assert.Equal("BitFit (biases)", subset.Method);
        Assert.Null(subset.Note);
        Assert.Equal(bert.Model.Parameters.Where(p => p.Name.EndsWith(".bias")).Select(p => p.Name),
            subset.Parameters.Select(p => p.Name));
        Assert.Contains(subset.Parameters, p => p.Name == "bert.encoder.layer.1.attention.self.query.bias");
        // the cloze objective reads the MLM head
        Assert.Contains(subset.Parameters, p => p.Name == "cls.predictions.bias");

        var before = bert.Model.Parameters.ToDictionary(p => p.Name, p => p.Tensor.ToArray());
        var optimizer = new AdamW(subset.Tensors, learningRate: 1e-2f, weightDecay: 0f);
        var tape = new Tape();
        tape.Backward(Cloze(bert).Loss(tape, Examples));
        optimizer.Update();
        tape.Reset();
        var chosen = subset.Parameters.Select(p => p.Name).ToHashSet();
        foreach (var p in bert.Model.Parameters)
        {
            bool changed = !before[p.Name].SequenceEqual(p.Tensor.ToArray());
            // The MLM bias changes only in the verbalizer words' columns; the other biases everywhere the loss reaches.
            Assert.True(changed == chosen.Contains(p.Name),
                $"{p.Name}: changed {changed}, trained {chosen.Contains(p.Name)}");
        }
    }

    [Theory]
    [InlineData("bitfit")]
    [InlineData("top-k")]
    [InlineData("full")]
    public void With_a_task_head_the_baselines_leave_the_mlm_head_out(string method)
    {
        var bert = Fresh();
        var withMlm = WeightSubset.Select(bert.Model, method, topLayers: 1).Parameters.Select(p => p.Name).ToList();
        var headOnly = WeightSubset.Select(bert.Model, method, topLayers: 1,
            readsLanguageModelHead: false).Parameters.Select(p => p.Name).ToList();
        Assert.Contains(withMlm, n => n.StartsWith("cls.predictions."));
        Assert.DoesNotContain(headOnly, n => n.StartsWith("cls."));
        Assert.Equal(withMlm.Where(n => !n.StartsWith("cls.")), headOnly);
        if (method == "top-k")
        {
            Assert.All(headOnly, n => Assert.StartsWith("bert.encoder.layer.1.", n));
            Assert.Contains("cls.predictions.transform.dense.weight", withMlm);
            Assert.DoesNotContain("bert.embeddings.word_embeddings.weight", withMlm); // the tied decoder stays frozen
        }
    }

    [Fact]
    public void Lora_on_bert_targets_queries_and_values_and_trains_through_the_cloze_verbalizer()
    {
        var bert = Fresh();
        var lora = new LoraAdapter(bert.Model, new LoraOptions { Rank = 2 });
        Assert.Equal(new[] { "query", "value", "query", "value" }, lora.Updates.Select(u => u.Module.Split('.')[^1]));
        Assert.All(lora.Updates, u => Assert.Contains(".attention.self.", u.Module));
        // B starts at zero: the adapted cloze scores are the frozen model's.
        Assert.Equal(Cloze(bert).LabelScores(Examples), Cloze(bert, lora).LabelScores(Examples));
        TrainingSteps.OneStepChangesExactly(bert.Model, lora.Trainable, tape => Cloze(bert, lora).Loss(tape, Examples));
    }

    [Fact]
    public void A_decoder_only_method_refuses_an_encoder_in_one_line_naming_the_ones_that_run()
    {
        var bert = Fresh();
        var context = new MethodContext<LabeledExample>
        {
            Model = bert.Model, Tokenizer = bert.Tokenizer, Train = Examples, Settings = new MethodSettings(),
            Objective = (_, adapter, _) => Cloze(bert, adapter), InputTokens = Cloze(bert).InputTokens,
        };
        foreach (var name in new[] { "prompt", "few-shot", "hard-search", "llama-adapter" })
        {
            var refused = Assert.Throws<NotSupportedException>(() => TuningMethods.Find(name).Prepare(context));
            Assert.StartsWith($"Method '{name}' does not run on a BERT encoder: it needs a causal language model",
                refused.Message);
            Assert.DoesNotContain('\n', refused.Message);
            Assert.Equal(refused.Message, Assert.Throws<NotSupportedException>(() => TuningMethods.Find(name,
                ModelFamilies.Encoder)).Message);
        }
        Assert.Equal(0, TuningMethods.Find("zero-shot").Prepare(context).StoredValues);
        Assert.Same(TuningMethods.Find("lora"), TuningMethods.Find("lora", ModelFamilies.Encoder));
        // every text method runs on a decoder; only the ViT's own (visual prompts) do not
        Assert.Equal(["vpt-shallow", "vpt-deep"], TuningMethods.All.Where(m => !m.Supports(ModelFamilies.Decoder))
            .Select(m => m.Name));
    }

    [Fact]
    public void The_cloze_form_of_a_task_keeps_its_labels_and_reads_them_at_the_mask()
    {
        var task = RepositoryData.Classification("food-reviews");
        var cloze = task.AsCloze();
        Assert.NotEqual(task.Template, cloze.Template);
        Assert.Equal(task.ClozeTemplate, cloze.Template);
        Assert.Contains("[MASK]", cloze.Template);
        Assert.Equal(new[] { "great", "other" }, cloze.Labels);
        Assert.Same(cloze, cloze.AsCloze());
        var noCloze = new ClassificationTask("x", "{text}\nAnswer:", new Dictionary<string,
            string> { ["a"] = " a", ["b"] = " b" });
        Assert.Contains("no cloze template", Assert.Throws<ArgumentException>(() => noCloze.AsCloze()).Message);
    }
}
