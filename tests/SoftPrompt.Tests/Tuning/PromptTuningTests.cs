using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class PromptTuningTests
{
    private static readonly LoadedModel Loaded = MoodTask.Load();
    private static readonly ClassificationTask Task = MoodTask.Task();
    private static LabeledExample Example(string text, string label) => MoodTask.Example(text, label);
    private static readonly LabeledExample[] Examples = MoodTask.Examples();

    [Fact]
    public void Kept_by_macro_f1_the_validation_score_is_the_macro_f1_of_the_predictions()
    {
        var byAccuracy = new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task, prompt: null);
        var byF1 = new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task, prompt: null)
        {
            KeepBy = KeptStateCriterion.MacroF1,
        };
        var (accuracy, macroF1) = byAccuracy.Evaluate(Examples);
        Assert.Equal("accuracy", byAccuracy.ScoreName);
        Assert.Equal("macro_f1", byF1.ScoreName);
        Assert.Equal(accuracy, ((IPromptObjective<LabeledExample>)byAccuracy).Score(Examples));
        Assert.Equal(macroF1, ((IPromptObjective<LabeledExample>)byF1).Score(Examples));
        Assert.NotEqual(accuracy, macroF1); // the fixture's predictions are not all right: the two differ
    }

    [Fact]
    public void Kept_by_macro_f1_above_majority_a_state_past_the_bar_outranks_every_state_under_it()
    {
        // 10 validation labels, 6 of them "a": the majority rate is 60 %, the bar 63 %
        var gold = Enumerable.Repeat("a", 6).Concat(Enumerable.Repeat("b", 4)).ToArray();
        Assert.Equal(0.6, KeptStates.MajorityRate(gold), 9);
        var criterion = KeptStateCriterion.MacroF1AboveMajority;
        double past = KeptStates.Score(criterion, 0.7, 0.55, gold), under = KeptStates.Score(criterion, 0.6, 0.375,
            gold);
        double pastWithBetterF1 = KeptStates.Score(criterion, 0.65, 0.62, gold);
        Assert.Equal(1.55, past, 9);
        Assert.Equal(0.6, under, 9); // under the bar: its accuracy
        Assert.True(pastWithBetterF1 > past); // past the bar, macro-F1 decides, not accuracy
        Assert.True(past > KeptStates.Score(criterion, 0.62, 0.61, gold)); // 62 % is under the bar
        Assert.True(KeptStates.Score(criterion, 0.62, 0.2, gold) > under); // under it, accuracy decides
        Assert.Equal(KeptStateCriterion.MacroF1AboveMajority, KeptStates.Parse("macro-f1-above-majority"));
        // a checkpoint kept by one criterion is not resumed under another: the best scores are not comparable
        var options = new PromptTuningOptions();
        Assert.NotEqual(new PromptTuner<LabeledExample>(new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task,
                prompt: null), options).Fingerprint,
            new PromptTuner<LabeledExample>(new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task,
                prompt: null) { KeepBy = criterion }, options).Fingerprint);

        // On a classifier: the score follows the rule, and progress shows the two figures it combines.
        IPromptObjective<LabeledExample> combined = new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task,
            prompt: null) { KeepBy = criterion };
        var (accuracyHere, macroF1Here) = ((PromptClassifier)combined).Evaluate(Examples);
        Assert.Equal(KeptStates.Score(criterion, accuracyHere, macroF1Here, Examples.Select(e => e.Label).ToArray()),
            combined.Score(Examples));
        Assert.Equal(accuracyHere, combined.FiguresOfLastScore!["accuracy"]);
        Assert.Equal(macroF1Here, combined.FiguresOfLastScore!["macro_f1"]);
        Assert.Throws<OptionException>(() => KeptStates.Parse("f1"));
    }

    [Fact]
    public void Label_scores_equal_log_probabilities_from_an_unbatched_forward_pass()
    {
        var model = Loaded.Model;
        var classifier = new PromptClassifier(model, Loaded.Tokenizer!, Task, prompt: null);
        var scores = classifier.LabelScores(Examples, rowsPerBatch: 3); // batches mix rows of different lengths
        for (int e = 0; e < Examples.Length; e++)
            for (int l = 0; l < 2; l++)
            {
                var input = classifier.InputTokens(Examples[e]);
                var label = classifier.LabelTokens[Task.Labels[l]];
                var ids = input.Concat(label).ToArray();
                var tape = new Tape(recording: false);
                var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = ids.Length, TokenIds = ids });
                double expected = 0;
                int v = model.Config.VocabSize;
                for (int j = 0; j < label.Length; j++)
                {
                    var row = logits.ReadOnlySpan.Slice((input.Length - 1 + j) * v, v);
                    double max = row.ToArray().Max(), z = row.ToArray().Sum(x => Math.Exp(x - max));
                    expected += row[label[j]] - max - Math.Log(z);
                }
                Assert.Equal(expected, scores[e][l], 1e-3);
            }
    }

    [Fact]
    public void Label_choice_loss_is_the_cross_entropy_of_a_softmax_over_the_labels_first_tokens()
    {
        var model = Loaded.Model;
        var classifier = new PromptClassifier(model, Loaded.Tokenizer!, Task, prompt: null) { TrainingLoss =
            ClassificationLoss.LabelChoice };
        var tape = new Tape(recording: false);
        float loss = classifier.Loss(tape, Examples)[0];
        double expected = 0;
        int v = model.Config.VocabSize;
        var (shared, tokens) = PromptClassifier.LabelChoice(Task, classifier.LabelTokens);
        foreach (var example in Examples)
        {
            // The labels' shared first tokens (this SentencePiece vocabulary may write a "▁" before each word) are
            // input.
            var input = classifier.InputTokens(example).Concat(classifier.LabelTokens[example.Label][..shared])
                .ToArray();
            var logits = model.Forward(new Tape(recording: false), new ForwardInput { Batch = 1, Length = input.Length,
                TokenIds = input });
            var last = logits.ReadOnlySpan.Slice((input.Length - 1) * v, v).ToArray();
            double[] choices = tokens.Select(token => (double)last[token]).ToArray();
            double max = choices.Max(), logZ = max + Math.Log(choices.Sum(c => Math.Exp(c - max)));
            expected -= choices[Task.Labels.ToList().IndexOf(example.Label)] - logZ;
        }
        Assert.Equal(expected / Examples.Length, loss, 1e-4);

        var sameStart = new PromptClassifier(model, Loaded.Tokenizer!, MoodTask.Task(sadWords: " happy no more"),
            prompt: null)
            { TrainingLoss = ClassificationLoss.LabelChoice };
        var refused = Assert.Throws<ArgumentException>(() => sameStart.Loss(new Tape(recording: false), Examples));
        Assert.Contains("cannot tell them apart", refused.Message);
        var parted = PromptClassifier.LabelChoice(Task, new Dictionary<string, int[]> { ["happy"] = [7],
            ["sad"] = [9, 3] });
        Assert.Equal(0, parted.Shared);
        Assert.Equal(new[] { 7, 9 }, parted.Tokens);
        Assert.Equal(2, PromptClassifier.LabelChoice(Task, new Dictionary<string, int[]> { ["happy"] = [5, 6, 7],
            ["sad"] = [5, 6, 8] }).Shared);
    }

    [Fact]
    public void Only_the_prompt_receives_gradients_and_training_lowers_the_loss()
    {
        var model = Loaded.Model;
        model.SetTrainable(false);
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        var classifier = new PromptClassifier(model, Loaded.Tokenizer!, Task, prompt);
        PromptInit.Apply(prompt, PromptInitKind.Vocab, model.TokenEmbedding, seed: 1,
            PromptInit.MostFrequentTokens(Examples.Select(classifier.InputTokens), 50));
        // Every example says "sad": the prompt alone must move the model toward it.
        var allSad = Examples.Select(e => e with { Label = "sad" }).ToList();
        var tape = new Tape();
        float before = classifier.Loss(tape, allSad)[0];
        tape.Reset();
        var tuner = new PromptTuner<LabeledExample>(classifier, new PromptTuningOptions { Steps = 25, BatchSize = 3,
            LearningRate = 0.05f, EvaluateEvery = 25 });
        tuner.Run(allSad, allSad);
        float after = classifier.Loss(tape, allSad)[0];
        tape.Reset();
        Assert.True(after < before * 0.5f, $"loss {before:F3} → {after:F3}");
        Assert.Equal(1.0, classifier.Accuracy(allSad));
        Assert.All(model.Parameters, p => Assert.False(p.Tensor.HasGrad, $"frozen {p.Name} got a gradient buffer"));
    }

    [Fact]
    public void A_resumed_tuning_run_ends_with_the_same_prompt_as_an_uninterrupted_one()
    {
        using var dir = new TempDirectory();
        var options = new PromptTuningOptions { Steps = 12, BatchSize = 2, LearningRate = 0.05f, EvaluateEvery = 4,
            CheckpointEvery = 4, Seed = 3 };
        PromptEmbedding Fresh()
        {
            var p = new PromptEmbedding(3, Loaded.Model.Config.HiddenSize);
            p.InitializeUniform(7);
            return p;
        }
        var straight = Fresh();
        new PromptTuner<LabeledExample>(new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task, straight), options)
            .Run(Examples, Examples, dir.File("a"));

        var interrupted = Fresh();
        var cancel = new CancellationTokenSource();
        // Cancelling saves a checkpoint at the step reached, then stops (as pretraining does: one trainer).
        var stopped = new PromptTuner<LabeledExample>(new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task,
            interrupted), options, new CancelAtStep(8, cancel))
            .Run(Examples, Examples, dir.File("b"), cancel: cancel.Token);
        Assert.True(stopped.Stopped);
        Assert.Equal(8, stopped.Steps);
        var resumed = Fresh();
        var result = new PromptTuner<LabeledExample>(new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task,
            resumed), options)
            .Run(Examples, Examples, dir.File("b"), resume: true);
        Assert.Equal(12, result.Steps);
        Assert.Equal(straight.Prompt.ToArray(), resumed.Prompt.ToArray());
    }

    [Fact]
    public void Adapter_round_trips_in_peft_layout_and_rejects_a_wrong_width()
    {
        using var dir = new TempDirectory();
        var prompt = new PromptEmbedding(5, 64);
        prompt.InitializeUniform(3);
        PromptAdapterFiles.Save(dir.Path, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null));
        var loaded = PromptAdapterFiles.Load(dir.Path, 64);
        Assert.Equal(prompt.Prompt.ToArray(), loaded.Prompt.ToArray());
        var e = Assert.Throws<SoftPrompt.Engine.IO.ModelFormatException>(() => PromptAdapterFiles.Load(dir.Path, 128));
        Assert.Contains("[5, 64]", e.Message);
        File.WriteAllText(Path.Combine(dir.Path, PromptAdapterFiles.ConfigFile), "{\"peft_type\": \"LORA\"}");
        e = Assert.Throws<SoftPrompt.Engine.IO.ModelFormatException>(() => PromptAdapterFiles.Load(dir.Path, 64));
        Assert.Contains("LORA", e.Message);
    }

    [Theory]
    // width 16: Hugging Face's Gemma 3 embedding module scales rows by √16 before PEFT's prompt joins them
    [InlineData("gemma3_text", 4f)]
    [InlineData("llama", 1f)]
    public void A_prompt_file_holds_the_prompt_as_peft_would_train_it_for_the_family(string family, float scale)
    {
        using var dir = new TempDirectory();
        var model = LayerAdapterKit.TinyRandom(family);
        Assert.Equal(scale, model.PeftPromptScale);
        var prompt = new PromptEmbedding(3, model.Config.HiddenSize);
        prompt.InitializeUniform(5);
        PromptAdapterFiles.Save(dir.Path, prompt, PromptAdapterFiles.Info.For(model, "tiny", "uniform", null));

        var stored = SoftPrompt.Engine.IO.SafeTensorsFile.Open(Path.Combine(dir.Path, PromptAdapterFiles.WeightsFile))
            .ReadFloat32(PromptAdapterFiles.TensorName);
        var ours = prompt.Prompt.ToArray();
        for (int i = 0; i < ours.Length; i++) Assert.Equal(ours[i] * scale, stored[i], 6);
        var loaded = SoftPrompt.Tuning.AdapterDirectory.Load(dir.Path, model).Prompt!;
        for (int i = 0; i < ours.Length; i++) Assert.Equal(ours[i], loaded.Prompt.Span[i], 6);
    }

    [Fact]
    public void Adapter_files_say_what_was_trained_on_what_and_a_prompt_over_another_base_is_refused()
    {
        using var dir = new TempDirectory();
        var model = ModelLoader.Load(SharedModels.TinyStoriesPath).Model;
        var other = ModelLoader.Load(SharedModels.TinyStoriesPath).Model;
        other.TokenEmbedding.Span[3] += 0.5f; // same width and vocabulary, other weights
        string mine = PromptAdapterFiles.FingerprintOf(model);
        Assert.NotEqual(mine, PromptAdapterFiles.FingerprintOf(other));
        var prompt = new PromptEmbedding(5, model.Config.HiddenSize);
        PromptAdapterFiles.Save(dir.Path, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "labels", null,
            "food-reviews", BaseFingerprint: mine));

        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path,
            PromptAdapterFiles.ConfigFile))).RootElement;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, config.GetProperty("tokenizer_kwargs").ValueKind);
        var ours = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path,
            PromptAdapterFiles.TaskFile))).RootElement;
        Assert.Equal("labels", ours.GetProperty("init").GetString());

        Assert.Equal(5, PromptAdapterFiles.Load(dir.Path, model.Config.HiddenSize, baseFingerprint: mine).Length);
        var wrongBase = Assert.Throws<SoftPrompt.Engine.IO.ModelFormatException>(() =>
            PromptAdapterFiles.Load(dir.Path, model.Config.HiddenSize,
                baseFingerprint: PromptAdapterFiles.FingerprintOf(other)));
        Assert.Contains("another base model", wrongBase.Message);

        string configPath = Path.Combine(dir.Path, PromptAdapterFiles.ConfigFile);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"num_virtual_tokens\": 5",
            "\"num_virtual_tokens\": 8"));
        var count = Assert.Throws<SoftPrompt.Engine.IO.ModelFormatException>(() => PromptAdapterFiles.Load(dir.Path,
            model.Config.HiddenSize));
        Assert.Contains("num_virtual_tokens is 8", count.Message);
    }

    [Fact]
    public void Label_init_rows_are_mean_label_embeddings()
    {
        var table = GradCheck.Random(1, 1f, 10, 4);
        var prompt = new PromptEmbedding(3, 4);
        PromptInit.Apply(prompt, PromptInitKind.Labels, table, seed: 2, frequentTokens: new[] { 7 },
            labelTokens: new[] { new[] { 1, 2 }, new[] { 5 } });
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal((table[4 + i] + table[8 + i]) / 2, prompt.Prompt[i], 5);
            Assert.Equal(table[20 + i], prompt.Prompt[4 + i]);
            Assert.Equal(table[28 + i], prompt.Prompt[8 + i]); // the rest sampled from the frequent tokens
        }
    }

    [Theory]
    [InlineData(0.05f)]
    [InlineData(20f)]
    public void Uniform_init_and_the_default_learning_rate_follow_the_embeddings_scale(float scale)
    {
        var table = GradCheck.Random(3, scale, 500, 16);
        float rms = MathF.Sqrt(table.ToArray().Sum(v => v * v) / table.Length);
        var prompt = new PromptEmbedding(50, 16);
        PromptInit.Apply(prompt, PromptInitKind.Uniform, table, seed: 4, frequentTokens: new[] { 1 });
        float promptRms = MathF.Sqrt(prompt.Prompt.ToArray().Sum(v => v * v) / prompt.Prompt.Length);
        Assert.InRange(promptRms / rms, 0.9f, 1.1f); // 800 draws: the RMS of a uniform on ±√3·rms is within a few %
        Assert.Equal(PromptScale.StepFraction * rms, PromptScale.LearningRate(table), rms * 1e-4);
    }

    [Fact]
    public void Macro_f1_by_hand()
    {
        // a: tp 2, predicted 3, actual 2 → F1 = 4/5; b: tp 1, predicted 1, actual 2 → 2/3; c: never seen → left out
        string[] gold = { "a", "a", "b", "b" }, predicted = { "a", "a", "a", "b" };
        Assert.Equal((0.8 + 2.0 / 3) / 2, PromptClassifier.MacroF1(gold, predicted, new[] { "a", "b", "c" }), 10);
    }

    [Fact]
    public void Few_shot_prefix_shows_every_label_and_is_repeatable()
    {
        var pool = Enumerable.Range(0, 20).Select(i => Example(new string('x', 5 + i), i % 3 == 0 ? "sad" : "happy"))
            .ToList();
        string prefix = Task.FewShotPrefix(pool, 4, seed: 5);
        Assert.Equal(prefix, Task.FewShotPrefix(pool, 4, seed: 5));
        Assert.Equal(4, prefix.Split("The mood was").Length - 1);
        Assert.Contains("The mood was sad\n\n", prefix);
        Assert.Contains("The mood was happy\n\n", prefix);
        Assert.Equal("", Task.FewShotPrefix(pool, 0, seed: 5));
        var classifier = new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task, null, prefix);
        Assert.True(classifier.InputTokens(Examples[0]).Length > new PromptClassifier(Loaded.Model, Loaded.Tokenizer!,
            Task, null).InputTokens(Examples[0]).Length);
    }

    [Fact]
    public void Task_rows_with_problems_are_named_by_file_and_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("train.jsonl");
        File.WriteAllText(path, "{\"text\": \"ok\", \"label\": \"happy\"}\n{\"text\": \"x\", \"label\": \"angry\"}\n");
        var e = Assert.Throws<InvalidDataException>(() => Task.ReadSplit(path));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("angry", e.Message);
        File.WriteAllText(path, "{\"text\": \"ok\"\n");
        e = Assert.Throws<InvalidDataException>(() => Task.ReadSplit(path));
        Assert.Contains("line 1", e.Message);
        File.WriteAllText(path, "{\"text\": \"ok\", \"label\": \"sad\"}\n{\"text\": \"no label\"}\n");
        e = Assert.Throws<InvalidDataException>(() => Task.ReadSplit(path));
        Assert.Contains("line 2: no \"label\" field", e.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => Task.ReadSplit(dir.File("test.jsonl")));
        Assert.Contains("test.jsonl", missing.Message);
        Assert.Equal("Story: hi\nThe mood was", Task.Render(Example("hi", "happy")));
    }
}

public class NearestTokensTests
{
    [Fact]
    public void A_prompt_vector_copied_from_a_token_is_nearest_to_it_and_scaling_does_not_matter()
    {
        var table = GradCheck.Random(5, 1f, 50, 8);
        var prompt = new PromptEmbedding(2, 8);
        for (int i = 0; i < 8; i++)
        {
            prompt.Prompt[i] = table[17 * 8 + i] * 3f;              // cosine ignores length
            prompt.Prompt[8 + i] = -table[4 * 8 + i];               // opposite of token 4
        }
        var nearest = NearestTokens.Find(prompt.Prompt, table, top: 3);
        Assert.Equal(17, nearest[0][0].TokenId);
        Assert.Equal(1f, nearest[0][0].Cosine, 4);
        Assert.True(nearest[0][0].Cosine >= nearest[0][1].Cosine && nearest[0][1].Cosine >= nearest[0][2].Cosine);
        Assert.DoesNotContain(nearest[1], t => t.TokenId == 4);
    }
}

public class MixedPromptBatchTests
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);

    private static PromptEmbedding Prompt(int length, int seed)
    {
        var p = new PromptEmbedding(length, Loaded.Model.Config.HiddenSize);
        p.InitializeUniform(seed);
        return p;
    }

    [Fact]
    public void Each_row_of_a_mixed_batch_matches_that_row_run_alone()
    {
        var model = Loaded.Model;
        var tokenizer = Loaded.Tokenizer!;
        var rows = new[]
        {
            new PromptedRow(Prompt(3, 1), tokenizer.Encode("Once upon a time, there was a cat.")),
            new PromptedRow(Prompt(6, 2), tokenizer.Encode("The dog ran.")),
            new PromptedRow(null, tokenizer.Encode("Lily and Tom went to the park to play with a big ball.")),
        };
        double worst = MixedBatchCheck.WorstDifference(model, rows).Absolute;
        Assert.True(worst <= 1e-5, $"max |Δlogit| {worst:E2} between the mixed batch and rows run alone");
    }

    [Fact]
    public void Gradients_reach_each_rows_own_prompt_only()
    {
        var model = Loaded.Model;
        model.SetTrainable(false);
        var a = Prompt(2, 3);
        var b = Prompt(4, 4);
        var unused = Prompt(2, 5);
        var tape = new Tape();
        var batch = MixedPromptBatch.Build(tape, model, new[]
        {
            new PromptedRow(a, Loaded.Tokenizer!.Encode("A bird sang.")),
            new PromptedRow(b, Loaded.Tokenizer!.Encode("The sun was hot today.")),
        });
        var hidden = model.Hidden(tape, batch.Input);
        tape.Backward(Fn.Sum(tape, Fn.Slice(tape, hidden, 1, batch.Length - 1, 1)));
        Assert.Contains(a.Prompt.Grad.ToArray(), g => g != 0);
        Assert.Contains(b.Prompt.Grad.ToArray(), g => g != 0);
        Assert.False(unused.Prompt.HasGrad);
        Assert.All(model.Parameters, p => Assert.False(p.Tensor.HasGrad));
    }
}

public class PromptGeneratorTests
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
    private static readonly GenerationTask Task = new("story", "{start}", " {end}");

    [Fact]
    public void Cached_generation_with_a_soft_prompt_equals_greedy_decoding_by_full_forward_passes()
    {
        var model = Loaded.Model;
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        prompt.InitializeUniform(11);
        var generator = new PromptGenerator(model, Loaded.Tokenizer!, Task, prompt, maxTargetTokens: 12);
        var example = new TextExample(new Dictionary<string, string> { ["start"] = "Once upon a time, a little",
            ["end"] = "x" });
        string generated = generator.Generate(example);

        // Reference: no cache; each step re-runs [P; x; generated so far] and takes the argmax of the last position.
        var ids = generator.InputTokens(example).ToList();
        int start = ids.Count;
        for (int step = 0; step < 12; step++)
        {
            var tape = new Tape(recording: false);
            var logits = model.Forward(tape, prompt.Input(tape, model, ids.ToArray(), 1, ids.Count));
            int v = model.Config.VocabSize;
            int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.ReadOnlySpan.Slice(logits.Length - v,
                v));
            if (next == Loaded.Tokenizer!.EosId) break;
            ids.Add(next);
        }
        Assert.Equal(Loaded.Tokenizer!.Decode(ids.Skip(start).ToArray()).Trim(), generated);
        Assert.NotEmpty(generated);
    }

    /// <summary>Layer adapters reach decoding too: prefix rows (never cached) and LoRA's projections (cached with
    /// the keys and values they made) give what full forward passes with the same hooks give.</summary>
    [Theory]
    [InlineData("prefix")]
    [InlineData("lora")]
    public void Cached_generation_with_a_layer_adapter_equals_greedy_decoding_by_full_forward_passes(string method)
    {
        var model = Loaded.Model;
        SoftPrompt.Tuning.ITrainableAdapter adapter = method == "prefix"
            ? new SoftPrompt.Tuning.PrefixTuning.PrefixAdapter(model.Config,
                SoftPrompt.Tuning.PrefixTuning.PrefixTuningOptions.DeepPrompt(3, seed: 4))
            : new SoftPrompt.Tuning.Lora.LoraAdapter(model, new SoftPrompt.Tuning.Lora.LoraOptions { Seed = 4 });
        foreach (var t in adapter.Trainable) // nonzero everywhere, so LoRA's B = 0 start does not hide the path
        {
            var rng = new Random(9);
            var span = t.Span;
            for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextDouble() - 0.5) * (method == "prefix" ? 8f
                : 0.5f);
        }
        var generator = new PromptGenerator(model, Loaded.Tokenizer!, Task, null, maxTargetTokens: 10) { Adapter =
            adapter };
        var plain = new PromptGenerator(model, Loaded.Tokenizer!, Task, null, maxTargetTokens: 10);
        var example = new TextExample(new Dictionary<string, string> { ["start"] = "Once upon a time, a little",
            ["end"] = "x" });
        string generated = generator.Generate(example);

        var ids = generator.InputTokens(example).ToList();
        int start = ids.Count;
        for (int step = 0; step < 10; step++)
        {
            var tape = new Tape(recording: false);
            var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = ids.Count, TokenIds = ids.ToArray(),
                Hooks = adapter.Hooks(new int[1]) });
            int v = model.Config.VocabSize;
            int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.ReadOnlySpan.Slice(logits.Length - v,
                v));
            if (next == Loaded.Tokenizer!.EosId) break;
            ids.Add(next);
        }
        Assert.Equal(Loaded.Tokenizer!.Decode(ids.Skip(start).ToArray()).Trim(), generated);
        Assert.NotEqual(plain.Generate(example), generated);
    }

    [Fact]
    public void Tuning_on_one_target_makes_the_model_generate_it()
    {
        var model = Loaded.Model;
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        prompt.InitializeUniform(12);
        var generator = new PromptGenerator(model, Loaded.Tokenizer!, Task, prompt, maxTargetTokens: 8);
        var examples = new[] { new TextExample(new Dictionary<string, string> { ["start"] = "The cat",
            ["end"] = "was happy." }) };
        var result = new PromptTuner<TextExample>(generator, new PromptTuningOptions { Steps = 40, BatchSize = 1,
            LearningRate = 0.1f, EvaluateEvery = 10 })
            .Run(examples, examples);
        // Zero-shot the model continues the story its own way; the tuned prompt makes it say the target first.
        Assert.False(new PromptGenerator(model, Loaded.Tokenizer!, Task, null, maxTargetTokens: 8).Generate(examples[0])
            .StartsWith("was happy."));
        Assert.StartsWith("was happy.", generator.Generate(examples[0]));
        Assert.True(result.BestScore > 0.5, $"best ROUGE-L {result.BestScore}");
    }
}

public class PromptEnsembleTests
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
    private static readonly ClassificationTask Task = new("mood", "Story: {text}\nThe mood was",
        new Dictionary<string, string> { ["happy"] = " happy", ["sad"] = " sad", ["angry"] = " angry" });

    [Fact]
    public void Ensemble_scores_in_one_batch_equal_each_members_own_scores()
    {
        var members = Enumerable.Range(0, 3).Select(i =>
        {
            var p = new PromptEmbedding(2 + i, Loaded.Model.Config.HiddenSize);
            p.InitializeUniform(20 + i);
            return p;
        }).ToList();
        var examples = new[] { "Lily found a puppy.", "The rain ruined the picnic and everyone went home wet." }
            .Select(t => new LabeledExample(new Dictionary<string, string> { ["text"] = t }, "happy")).ToList();
        var ensemble = new PromptEnsemble(Loaded.Model, Loaded.Tokenizer!, Task, members);
        var together = ensemble.Scores(examples, rowsPerBatch: 7); // batches mix members, labels and lengths
        for (int m = 0; m < members.Count; m++)
        {
            var alone = new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task, members[m]).LabelScores(examples);
            for (int e = 0; e < examples.Count; e++)
                for (int l = 0; l < 3; l++)
                    Assert.Equal(alone[e][l], together[e][m][l], 1e-3);
        }
        var (perMember, vote, mean) = ensemble.Predict(examples);
        Assert.Equal(3, perMember.Length);
        for (int e = 0; e < examples.Count; e++)
        {
            var counts = perMember.Select(p => p[e]).GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
            Assert.True(counts[vote[e]] == counts.Values.Max(), "the vote must be a most-voted label");
            Assert.Contains(mean[e], Task.Labels);
        }
    }
}

/// <summary>`--evaluate-init`: the starting weights are a candidate for the kept state.</summary>
public class EvaluateInitTests
{
    /// <summary>Training pushes every value up (loss −Σw) while validation prefers values near 0 (score −Σ|w|): the
    /// best state on validation is the start.</summary>
    private sealed class DriftingObjective(Tensor weights) : IPromptObjective<int>
    {
        public PromptEmbedding? Prompt => null;
        public string ScoreName => "score";
        public Tensor Loss(Tape tape, IReadOnlyList<int> batch) => Fn.Scale(tape, Fn.Sum(tape, weights), -1f);
        public double Score(IReadOnlyList<int> examples) => -weights.ToArray().Sum(MathF.Abs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_start_is_kept_when_nothing_later_scores_better(bool evaluateInit)
    {
        var weights = Tensor.Parameter([2, 3], trainable: true, "w");
        var options = new PromptTuningOptions
        {
            Steps = 6, BatchSize = 1, Optimizer = "adamw", LearningRate = 0.1f, WeightDecay = 0f, EvaluateEvery = 2,
            EvaluateInit = evaluateInit,
        };
        var result = new PromptTuner<int>(new DriftingObjective(weights), options, trainable: [weights])
            .Run([1, 2, 3], [1]);
        if (evaluateInit)
        {
            Assert.Equal(0, result.BestStep);
            Assert.Equal(0.0, result.BestScore);
            Assert.All(weights.ToArray(), w => Assert.Equal(0f, w)); // the start, restored
        }
        else
        {
            Assert.Equal(2, result.BestStep); // the first evaluation after training began
            Assert.All(weights.ToArray(), w => Assert.True(w > 0f));
        }
        Assert.NotEqual(new PromptTuningOptions().Fingerprint, new PromptTuningOptions { EvaluateInit = true }
            .Fingerprint); // a resume cannot mix the two
    }
}
