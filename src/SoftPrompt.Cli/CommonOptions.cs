using System.CommandLine;

namespace SoftPrompt.Cli;

/// <summary>
/// The options most commands share, declared once: the same name, default and meaning everywhere. A command passes
/// its own description where the option means something more specific there.
/// </summary>
internal static class CommonOptions
{
    /// <summary>The shipped decoder every decoder command uses unless told otherwise: the LM-adapted base, whose last
    /// position has learned to read its input (models/base-adapted/MODEL_CARD.md).</summary>
    public const string DefaultBase = "models/base-adapted";

    public static Option<string> Model(string description =
        "Model directory (Hugging Face layout, with its tokenizer) or a TinyStories .bin",
        string shipped = DefaultBase) =>
        new("--model")
        {
            Description = $"{description}, or a shipped model's name (base-small, …) (default: the shipped {shipped})",
            DefaultValueFactory = _ => ShippedFiles.Path(shipped),
            CustomParser = result => result.Tokens.Count == 0 ? ShippedFiles.Path(shipped) : ShippedFiles.Model(
                result.Tokens[^1].Value),
        };

    public static Option<string> Data(string description =
        "Folder holding the task folders (each with task.json and train/validation/test.jsonl)") =>
        new("--data") { Description = description, DefaultValueFactory = _ => ShippedFiles.Path("data/tasks") };

    public static Option<int> Seed(string description = "Random seed (initialisation, batch order, sampling)") =>
        new("--seed") { Description = description, DefaultValueFactory = _ => 1 };

    /// <summary>--weights fp32|bf16: how a frozen base's block matrices are held and multiplied. Default fp32: a
    /// prompt-tuning run on our small bases is chaotic enough that rounding the activations moves its end point by
    /// seed-to-seed distances, so the README job's figure would not reproduce as printed
    /// (reports/bench-2026-12-07.md); bf16 is opt-in, for speed and for big models' memory.</summary>
    public static Option<string> Weights() => WeightsOption(["fp32", "bf16"],
        "fp32, or bf16: keep the base's weight matrices that the checkpoint stores in bfloat16 as bfloat16 "
        + "and multiply in bfloat16 (AVX512_BF16: activations rounded to bfloat16, sums in float32 — faster, "
        + "figures within a fraction of a percent of fp32; the LM head's products too). On a CPU without "
        + "AVX512_BF16, bf16 widens them exactly as each product reads them (half the memory, every figure "
        + "as fp32)");

    /// <summary>--weights fp32|bf16|int8 for the commands that only run a model (generate, serve, eval, bench): int8
    /// cannot train.</summary>
    public static Option<string> InferenceWeights() => WeightsOption(["fp32", "bf16", "int8"],
        "fp32; bf16 (the checkpoint's bfloat16 matrices kept so and multiplied in bfloat16 where the CPU has "
        + "AVX512_BF16); or int8: the block matrices and the LM head's products quantized to 8 bits with a scale "
        + "per output row, activations per row as each product reads them (AVX-VNNI): a quarter of fp32's weight "
        + "bytes, for inference; held-out loss within a fraction of a percent of fp32");

    private static Option<string> WeightsOption(string[] formats, string description)
    {
        string fallback = formats[0];
        return new Option<string>("--weights")
        {
            Description = description,
            DefaultValueFactory = _ => fallback,
            CustomParser = result => result.Tokens.Count == 0 ? fallback : formats.Contains(result.Tokens[^1].Value)
                ? result.Tokens[^1].Value
                : throw new Engine.OptionException("Weights",
                    $"is {string.Join(", ", formats[..^1])} or {formats[^1]}, not '{result.Tokens[^1].Value}'."),
        };
    }

    /// <summary>Loads --model as --weights says: bf16 and int8 keep a bf16 checkpoint's matrices in bfloat16 as they
    /// load, and int8 then quantizes the block matrices (one at a time, so the model never holds two full copies).
    /// </summary>
    public static Models.Formats.LoadedModel LoadModel(string path, ParseResult parse, Option<string> weights) =>
        LoadModel(path, parse.GetValue(weights)!);

    /// <param name="format">fp32, bf16 or int8, as --weights gives it.</param>
    public static Models.Formats.LoadedModel LoadModel(string path, string format)
    {
        var loaded = Models.Formats.ModelLoader.Load(path, bf16Weights: format is "bf16" or "int8");
        if (format == "int8") loaded.Transformer.HoldBlockMatricesInInt8();
        return loaded;
    }

    public static bool Bf16(ParseResult parse, Option<string> weights) => parse.GetValue(weights) == "bf16";

    public static Option<bool> Recompute() => new("--recompute")
    {
        Description = "Memory first: run each transformer block again in backward instead of keeping its "
            + "activations (gradient checkpointing; a step holds one block's activations, not all of them), and "
            + "with --weights bf16 rebuild each weight's input-gradient operand per product instead of keeping a "
            + "second packed copy. The same gradients, for about 1.5× the time per step. Prompts before the "
            + "input and full fine-tuning; methods that hook into the layers keep every activation",
    };

    /// <summary>--recompute on a model about to train.</summary>
    public static void ApplyRecompute(Models.TransformerModel model, bool recompute)
    {
        model.RecomputeBlocksInBackward = recompute;
        if (recompute) Engine.MemoryOptions.KeptInputGradientBytes = 0;
    }

    public static Option<int> Threads() =>
        new("--threads") { Description = "Worker threads (default: every core)", DefaultValueFactory = _ =>
            Environment.ProcessorCount };
}
