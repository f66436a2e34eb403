using System.Text.Json;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.EncoderDecoder;
using SoftPrompt.Tests.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.EncoderDecoder;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning.VisualPrompts;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>One registry for every model family: T5 and ViT methods are entries of <see cref="TuningMethods"/>, a
/// method on a family it does not fit is refused with the ones that do, and a T5's adapters are written in PEFT's
/// layout for a sequence-to-sequence model.</summary>
public class MethodRegistryTests
{
    private static string[] Names(ModelFamilies family) => TuningMethods.For(family).Select(m => m.Name).ToArray();

    [Fact]
    public void Each_family_lists_its_methods_from_the_one_registry()
    {
        Assert.Equal(["bow", "zero-shot", "prompt", "prefix", "ft"], Names(ModelFamilies.EncoderDecoder));
        Assert.Equal(["probe", "vpt-shallow", "vpt-deep", "ft"], Names(ModelFamilies.Vision));
        Assert.Contains("lora", Names(ModelFamilies.Decoder));
        Assert.DoesNotContain("vpt-deep", Names(ModelFamilies.Decoder));
        // every name is one entry, whatever family it serves
        Assert.Equal(TuningMethods.All.Count, TuningMethods.All.Select(m => m.Name).Distinct().Count());
        // the names `vit compare` used before the registry served ViTs still work
        Assert.Same(TuningMethods.Find("probe"), TuningMethods.Find("linear", ModelFamilies.Vision));
        Assert.Same(TuningMethods.Find("ft"), TuningMethods.Find("full", ModelFamilies.Vision));
    }

    [Fact]
    public void A_method_on_a_family_it_does_not_fit_is_refused_with_the_ones_that_do()
    {
        var error = Assert.Throws<NotSupportedException>(() => TuningMethods.Find("vpt-deep", ModelFamilies.Decoder));
        Assert.StartsWith(
            "Method 'vpt-deep' does not run on a causal language model (GPT-2, LLaMA): it needs a vision " +
            "transformer (ViT).", error.Message);
        error = Assert.Throws<NotSupportedException>(() => TuningMethods.Find("lora", ModelFamilies.EncoderDecoder));
        Assert.Contains("Methods for a T5 encoder-decoder: bow, zero-shot, prompt, prefix, ft.", error.Message);
        var (t5, tokenizer) = T5TuningTests.TinyT5();
        var context = new EncoderDecoderContext(t5, tokenizer, MoodTask.Task(), new MethodSettings(), "tiny-t5");
        Assert.StartsWith("Method 'bow' uses no model", Assert.Throws<NotSupportedException>(() =>
            TuningMethods.Find("bow").PrepareEncoderDecoder(context)).Message);
        Assert.Throws<NotSupportedException>(() => TuningMethods.Find("lora").PrepareEncoderDecoder(context));
    }

    [Fact]
    public void The_family_of_a_stored_model_is_read_from_its_config()
    {
        Assert.Equal(ModelFamilies.Decoder, ModelFamily.OfStoredModel(ShippedModelTests.RepositoryPath(
            "models/base-tiny")));
        Assert.Equal(ModelFamilies.Vision, ModelFamily.OfStoredModel(ShippedModelTests.RepositoryPath(
            "models/vit-glyphs")));
        Assert.Equal(ModelFamilies.EncoderDecoder, ModelFamily.OfStoredModel(ShippedModelTests.RepositoryPath(
            "models/t5-small-lm")));
    }

    [Fact]
    public void A_t5_prompt_is_saved_as_peft_prompt_tuning_for_a_sequence_to_sequence_model_and_loads_back()
    {
        var (t5, tokenizer) = T5TuningTests.TinyT5();
        var settings = new MethodSettings { PromptLength = 3, Seed = 4 };
        var setup = TuningMethods.Find("prompt").PrepareEncoderDecoder(new EncoderDecoderContext(t5, tokenizer,
            MoodTask.Task(), settings, "tiny-t5"));
        Assert.Equal(3 * 16, setup.StoredValues);
        using var dir = new TempDirectory();
        setup.Save!(dir.Path);

        using var config = JsonDocument.Parse(File.ReadAllText(dir.File(PromptAdapterFiles.ConfigFile)));
        var root = config.RootElement;
        Assert.Equal("PROMPT_TUNING", root.GetProperty("peft_type").GetString());
        Assert.Equal("SEQ_2_SEQ_LM", root.GetProperty("task_type").GetString());
        Assert.Equal(1, root.GetProperty("num_transformer_submodules").GetInt32()); // the encoder's input only
        Assert.Equal(3, root.GetProperty("num_virtual_tokens").GetInt32());
        Assert.Equal(16, root.GetProperty("token_dim").GetInt32());
        var weights = SafeTensorsFile.Open(dir.File(PromptAdapterFiles.WeightsFile));
        Assert.Equal([3, 16], weights.Info(PromptAdapterFiles.TensorName).Shape);

        var loaded = PromptAdapterFiles.Load(dir.Path, t5.Config.HiddenSize);
        Assert.Equal(setup.Trainable[0].ToArray(), loaded.Prompt.ToArray());
        // the adapter names its base: another T5 of the same shape is refused
        PromptAdapterFiles.CheckBase(dir.Path, PromptAdapterFiles.FingerprintOf(t5.TokenEmbedding, t5.Config));
        var (other, _) = T5TuningTests.TinyT5(seed: 9);
        Assert.Throws<ModelFormatException>(() => PromptAdapterFiles.CheckBase(dir.Path,
            PromptAdapterFiles.FingerprintOf(other.TokenEmbedding, other.Config)));
    }

    [Fact]
    public void A_t5_prefix_covers_encoder_and_decoder_blocks_and_says_so_in_its_task_type()
    {
        var (t5, tokenizer) = T5TuningTests.TinyT5();
        var setup = TuningMethods.Find("prefix").PrepareEncoderDecoder(new EncoderDecoderContext(t5, tokenizer,
            MoodTask.Task(), new MethodSettings { PromptLength = 2 }, "tiny-t5"));
        Assert.NotNull(setup.Classifier.Adapter);
        using var dir = new TempDirectory();
        setup.Save!(dir.Path);
        using var config = JsonDocument.Parse(File.ReadAllText(dir.File(AdapterFiles.ConfigFile)));
        Assert.Equal("SEQ_2_SEQ_LM", config.RootElement.GetProperty("task_type").GetString());
        Assert.Equal(t5.HookedLayers, config.RootElement.GetProperty("num_layers").GetInt32());
    }

    [Fact]
    public void Text_methods_are_refused_on_a_vit()
    {
        var vit = VitFiles.Load(ShippedModelTests.RepositoryPath("models/vit-glyphs"));
        var context = new VisionContext(vit, ["a", "b"], new MethodSettings());
        var error = Assert.Throws<NotSupportedException>(() => TuningMethods.Find("prompt").PrepareVision(context));
        Assert.StartsWith("Method 'prompt' does not run on a vision transformer (ViT)", error.Message);
    }
}
