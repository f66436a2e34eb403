using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class PrefixTuningTests
{
    private static readonly LoadedModel Loaded = MoodTask.Load();
    private static readonly ClassificationTask Task = MoodTask.Task();
    private static readonly LabeledExample[] Examples = MoodTask.Examples();

    private static PromptClassifier Classifier(IModelAdapter adapter) =>
        new(Loaded.Model, Loaded.Tokenizer!, Task, prompt: null) { Adapter = adapter };

    /// <summary>A small random LLaMA with grouped-query attention (4 query heads share 2 key/value heads).</summary>
    private static CausalLanguageModel SmallRandomModel()
    {
        var model = CausalLanguageModel.Create(new ModelConfig
        {
            Architecture = Architecture.Llama, VocabSize = 20, HiddenSize = 16, NumLayers = 3, NumHeads = 4,
            NumKvHeads = 2,
            IntermediateSize = 24, MaxPositions = 32,
        });
        model.InitializeRandom(seed: 5, std: 0.3f);
        model.SetTrainable(false);
        return model;
    }

    [Theory]
    [InlineData(false, "all")]
    [InlineData(true, "all")]
    [InlineData(false, "top-2")]
    [InlineData(true, "bottom-1")]
    public void Prefix_gradients_match_finite_differences(bool reparameterize, string layers)
    {
        var model = SmallRandomModel();
        var adapter = new PrefixAdapter(model.Config, new PrefixTuningOptions(VirtualTokens: 3, reparameterize,
            MlpHiddenSize: 8, PrefixLayers.Parse(layers), Seed: 2));
        int[] ids = { 1, 5, 7, 2, 9, 3, 11, 4 };
        GradCheck.Check((tape, _) => model.Forward(tape, new ForwardInput { Batch = 2, Length = 4, TokenIds = ids,
            Hooks = adapter.Hooks(new int[2]) }),
            adapter.Trainable.ToArray(), eps: 1e-2, tolerance: 3e-3);
    }

    [Fact]
    public void Layer_selection_puts_rows_on_the_chosen_layers_only()
    {
        Assert.Equal(new[] { 3, 4 }, PrefixLayers.Parse("top-2").Resolve(5));
        Assert.Equal(new[] { 0 }, PrefixLayers.Parse("bottom-1").Resolve(5));
        Assert.Equal(5, PrefixLayers.Parse("all").Resolve(5).Length);
        Assert.Throws<ArgumentException>(() => PrefixLayers.Parse("top-0"));
        Assert.Throws<ArgumentException>(() => PrefixLayers.Parse("top-6").Resolve(5));
        var config = Loaded.Model.Config;
        var adapter = new PrefixAdapter(config, PrefixTuningOptions.DeepPrompt(4, PrefixLayers.Top(2)));
        Assert.Equal(4L * 2 * 2 * config.KvWidth, adapter.StoredValueCount);
        var hooks = adapter.Hooks(new int[3]);
        var tape = new Tape(recording: false);
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            var extra = hooks.ExtraKeyValues(tape, layer, 3);
            if (layer < config.NumLayers - 2) Assert.Null(extra);
            else Assert.Equal(new[] { 3, 4, config.KvWidth }, extra!.Keys.Shape);
        }
    }

    [Fact]
    public void One_step_changes_the_prefix_and_its_MLP_and_no_model_weight()
    {
        var adapter = new PrefixAdapter(Loaded.Model.Config, new PrefixTuningOptions(VirtualTokens: 4,
            MlpHiddenSize: 16));
        Assert.Equal(5, adapter.Trainable.Count);
        var classifier = Classifier(adapter);
        TrainingSteps.OneStepChangesExactly(Loaded.Model, adapter.Trainable, tape => classifier.Loss(tape, Examples));
    }

    [Fact]
    public void Training_the_prefix_lowers_the_loss()
    {
        var adapter = new PrefixAdapter(Loaded.Model.Config, new PrefixTuningOptions(VirtualTokens: 4,
            MlpHiddenSize: 32, Seed: 3));
        var classifier = Classifier(adapter);
        var allSad = Examples.Select(e => e with { Label = "sad" }).ToList();
        var tape = new Tape(recording: false);
        float before = classifier.Loss(tape, allSad)[0];
        new PromptTuner<LabeledExample>(classifier, new PromptTuningOptions { Steps = 20, BatchSize = 3,
            Optimizer = "adamw", LearningRate = 1e-2f, EvaluateEvery = 20 },
            trainable: adapter.Trainable).Run(allSad, allSad);
        float after = classifier.Loss(tape, allSad)[0];
        Assert.True(after < before * 0.5f, $"loss {before:F3} → {after:F3}");
    }

    [Fact]
    public void A_left_padded_mixed_batch_scores_each_row_as_it_would_alone()
    {
        var classifier = Classifier(new PrefixAdapter(Loaded.Model.Config, new PrefixTuningOptions(VirtualTokens: 3,
            Seed: 4)));
        var together = classifier.LabelScores(Examples, rowsPerBatch: 6); // rows of three lengths, left-padded
        for (int e = 0; e < Examples.Length; e++)
        {
            var alone = classifier.LabelScores(new[] { Examples[e] }, rowsPerBatch: 1);
            for (int l = 0; l < Task.Labels.Count; l++) Assert.Equal(alone[0][l], together[e][l], 1e-4);
        }
        var plain = new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, Task, prompt: null).LabelScores(Examples);
        Assert.True(Math.Abs(plain[0][0] - together[0][0]) > 1e-3, "the prefix should change the scores");
    }

    [Fact]
    public void Saved_adapter_has_PEFTs_prefix_tuning_layout()
    {
        using var dir = new TempDirectory();
        var config = Loaded.Model.Config;
        var adapter = new PrefixAdapter(config, new PrefixTuningOptions(VirtualTokens: 3, MlpHiddenSize: 16, Seed: 5));
        adapter.Save(dir.Path, "tinystories-260k");

        using (var doc = JsonDocument.Parse(File.ReadAllText(dir.File(AdapterFiles.ConfigFile))))
        {
            var root = doc.RootElement;
            Assert.Equal("PREFIX_TUNING", root.GetProperty("peft_type").GetString());
            Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
            Assert.Equal(3, root.GetProperty("num_virtual_tokens").GetInt32());
            Assert.Equal(config.NumLayers, root.GetProperty("num_layers").GetInt32());
            // Grouped-query attention: PEFT's token_dim / num_attention_heads describe the keys and values, not the
            // queries.
            Assert.Equal(config.KvWidth, root.GetProperty("token_dim").GetInt32());
            Assert.Equal(config.KvHeads, root.GetProperty("num_attention_heads").GetInt32());
            Assert.Equal(1, root.GetProperty("num_transformer_submodules").GetInt32());
            Assert.Equal(16, root.GetProperty("encoder_hidden_size").GetInt32());
            Assert.True(root.GetProperty("prefix_projection").GetBoolean());
            Assert.Equal("tinystories-260k", root.GetProperty("base_model_name_or_path").GetString());
        }
        var weights = SafeTensorsFile.Open(dir.File(AdapterFiles.WeightsFile));
        Assert.Equal(new[] { "prompt_embeddings" }, weights.Names);
        Assert.Equal(new[] { 3, config.NumLayers * 2 * config.KvWidth }, weights.Info("prompt_embeddings").Shape);
        var encoder = SafeTensorsFile.Open(dir.File(PrefixAdapterFiles.EncoderFile));
        Assert.Equal(new[] { "embedding.weight", "transform.0.bias", "transform.0.weight", "transform.2.bias",
            "transform.2.weight" }.Select(n => PrefixMlp.NamePrefix + n),
            encoder.Names.Order());
        Assert.False(File.Exists(dir.File(PrefixAdapterFiles.LayersFile)));

        // PEFT views row t as [layers·2, heads, head_dim]: slot 2l is layer l's key, 2l+1 its value.
        var stored = weights.ReadFloat32("prompt_embeddings");
        var tape = new Tape(recording: false);
        var hooks = adapter.Hooks(new int[1]);
        int w = config.KvWidth, width = config.NumLayers * 2 * w;
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            var extra = hooks.ExtraKeyValues(tape, layer, 1)!;
            for (int t = 0; t < 3; t++)
            {
                Assert.Equal(stored.AsSpan(t * width + 2 * layer * w, w).ToArray(), extra.Keys.ReadOnlySpan.Slice(t * w,
                    w).ToArray());
                Assert.Equal(stored.AsSpan(t * width + (2 * layer + 1) * w, w).ToArray(),
                    extra.Values.ReadOnlySpan.Slice(t * w, w).ToArray());
            }
        }
    }

    [Fact]
    public void Save_then_load_gives_identical_scores_and_keeps_the_MLP_for_resuming()
    {
        using var dir = new TempDirectory();
        var config = Loaded.Model.Config;
        var adapter = new PrefixAdapter(config, new PrefixTuningOptions(VirtualTokens: 3, MlpHiddenSize: 16, Seed: 6));
        var expected = Classifier(adapter).LabelScores(Examples);
        adapter.Save(dir.Path, "tinystories-260k");

        var loaded = PrefixAdapterFiles.Load(dir.Path, config);
        Assert.NotNull(loaded.Mlp);
        Assert.Equal(adapter.Trainable.Select(t => t.ToArray()), loaded.Trainable.Select(t => t.ToArray()));
        Assert.Equal(expected, Classifier(loaded).LabelScores(Examples));

        // Without our MLP file the directory is what PEFT would have written: it loads as the rows themselves.
        File.Delete(dir.File(PrefixAdapterFiles.EncoderFile));
        var direct = PrefixAdapterFiles.Load(dir.Path, config);
        Assert.Null(direct.Mlp);
        Assert.Single(direct.Trainable);
        AssertClose(expected, Classifier(direct).LabelScores(Examples));
    }

    [Fact]
    public void A_layer_subset_saves_its_layers_and_loads_back()
    {
        using var dir = new TempDirectory();
        var config = Loaded.Model.Config;
        var adapter = new PrefixAdapter(config, PrefixTuningOptions.DeepPrompt(2, PrefixLayers.Bottom(2), seed: 7));
        adapter.Save(dir.Path, "tinystories-260k");
        Assert.True(File.Exists(dir.File(PrefixAdapterFiles.LayersFile)));
        Assert.False(File.Exists(dir.File(PrefixAdapterFiles.EncoderFile)));
        var loaded = PrefixAdapterFiles.Load(dir.Path, config);
        Assert.Equal(new[] { 0, 1 }, loaded.Layers);
        Assert.Equal(adapter.FinalRows(), loaded.FinalRows());
        Assert.Equal(Classifier(adapter).LabelScores(Examples), Classifier(loaded).LabelScores(Examples));
    }

    [Fact]
    public void A_PEFT_written_directory_loads_in_the_direct_form()
    {
        using var dir = new TempDirectory();
        var config = Loaded.Model.Config;
        int p = 2, width = config.NumLayers * 2 * config.KvWidth;
        var rows = Enumerable.Range(0, p * width).Select(i => MathF.Sin(i)).ToArray();
        WritePeftDirectory(dir.Path, config, p, rows, new[] { p, width });
        var loaded = PrefixAdapterFiles.Load(dir.Path, config);
        Assert.Null(loaded.Mlp);
        Assert.Equal(rows, loaded.FinalRows());
        Assert.Equal(config.NumLayers, loaded.Layers.Count);
    }

    [Fact]
    public void Wrong_or_missing_files_fail_with_one_line_naming_the_file()
    {
        using var dir = new TempDirectory();
        var config = Loaded.Model.Config;
        int width = config.NumLayers * 2 * config.KvWidth;
        WritePeftDirectory(dir.Path, config, 2, new float[2 * (width - 1)], new[] { 2, width - 1 });
        var e = Assert.Throws<ModelFormatException>(() => PrefixAdapterFiles.Load(dir.Path, config));
        Assert.Contains(AdapterFiles.WeightsFile, e.Message);
        Assert.Contains($"[2, {width}]", e.Message);

        File.Delete(dir.File(AdapterFiles.WeightsFile));
        e = Assert.Throws<ModelFormatException>(() => PrefixAdapterFiles.Load(dir.Path, config));
        Assert.Contains(AdapterFiles.WeightsFile, e.Message);

        var otherModel = config with { NumLayers = config.NumLayers + 1 };
        e = Assert.Throws<ModelFormatException>(() => PrefixAdapterFiles.Load(dir.Path, otherModel));
        Assert.Contains(AdapterFiles.ConfigFile, e.Message);
        Assert.Contains("num_layers", e.Message);

        File.WriteAllText(dir.File(AdapterFiles.ConfigFile), "{\"peft_type\": \"PROMPT_TUNING\"}");
        e = Assert.Throws<ModelFormatException>(() => PrefixAdapterFiles.Load(dir.Path, config));
        Assert.Contains("PROMPT_TUNING", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static void WritePeftDirectory(string directory, ModelConfig config, int virtualTokens, float[] rows,
        int[] shape)
    {
        File.WriteAllText(Path.Combine(directory, AdapterFiles.ConfigFile),
            JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["peft_type"] = "PREFIX_TUNING", ["task_type"] = "CAUSAL_LM", ["num_virtual_tokens"] = virtualTokens,
            ["token_dim"] = config.KvWidth, ["num_layers"] = config.NumLayers, ["num_attention_heads"] = config.KvHeads,
            ["num_transformer_submodules"] = 1, ["encoder_hidden_size"] = config.KvWidth, ["prefix_projection"] = false,
            ["inference_mode"] = true, ["base_model_name_or_path"] = "x",
        }));
        SafeTensorsWriter.Write(Path.Combine(directory, AdapterFiles.WeightsFile),
            new[] { ("prompt_embeddings", shape, (ReadOnlyMemory<float>)rows) });
    }

    private static void AssertClose(double[][] expected, double[][] actual)
    {
        for (int i = 0; i < expected.Length; i++)
            for (int j = 0; j < expected[i].Length; j++) Assert.Equal(expected[i][j], actual[i][j], 1e-5);
    }
}
