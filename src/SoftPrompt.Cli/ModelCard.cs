using SoftPrompt.Models;
using SoftPrompt.Training.Pretraining;

namespace SoftPrompt.Cli;

/// <summary>MODEL_CARD.md for a pretrained base: what it was trained on, how big, how long, how good, how to redo it.
/// A decoder's figure is next-token loss; an encoder's (BERT) is the loss on its masked validation tokens.</summary>
public static class ModelCard
{
    public static void Write(string path, TransformerModel model, PretrainResult result, int plannedSteps,
        float validationLoss,
        long trainTokens, long validationTokens, TimeSpan elapsed, string reproduce, string corpusDir,
        string? continuedFrom = null,
        string? mixture = null, bool resumed = false, string? givenTokenizer = null, long? corpusTokensSeen = null)
    {
        var c = model.Config;
        bool encoder = !model.IsCausal;
        var (title, architecture, shape, tokenizer) = encoder
            ? ("Encoder base model: BERT",
                "BERT (post-LayerNorm blocks, learned positions, GELU MLP, bidirectional attention), MLM head tied " +
                    "to the token embedding",
                $"{c.NumLayers} × {c.HiddenSize}, {c.NumHeads} heads, MLP {c.IntermediateSize}",
                    "WordPiece (lower-cased)")
            : ("Base model: LLaMA-style",
                "LLaMA (RMSNorm, rotary positions, SwiGLU, grouped-query attention), tied LM head",
                $"{c.NumLayers} × {c.HiddenSize}, {c.NumHeads} heads ({c.KvHeads} key/value heads), MLP " +
                    $"{c.IntermediateSize}", "byte-level BPE");
        string objective = encoder
            ? "| objective | masked tokens: 15 % of the tokens of each training window (never special tokens), 80 % " +
                "of them [MASK], 10 % a random token, 10 % kept |\n"
            : "";
        string loss = encoder
            ? $"{validationLoss:F4} nats per masked token over {validationTokens:N0} held-out tokens (15 % of them " +
                $"masked, the masks drawn from a fixed seed)"
            : $"{validationLoss:F4} nats/token over {validationTokens:N0} held-out tokens";
        string perplexity = encoder ? $"{Math.Exp(validationLoss):F2} (of the masked tokens: exp of the loss above)"
            : $"{Math.Exp(validationLoss):F2}";
        string measure = encoder
            ? "The validation figures are measured on the saved (bf16) model over every validation window when " +
                "pretraining ends."
            : $"""
              Reproduce the perplexity:

                  softprompt eval --model {Path.GetDirectoryName(path)} --perplexity {corpusDir}/validation.txt
              """;
        string origin = continuedFrom is null ? "Pretrained from scratch"
            : $"Continued from `{continuedFrom}` (its card tells how that was made)";
        string tokenizerOrigin = givenTokenizer is null ? "trained on the training corpus"
            : $"given (`{givenTokenizer}`, copied)";
        string steps = $"{result.Steps:N0} of {plannedSteps:N0} planned" +
            (result.Stopped ? " (stopped early; `--resume` continues the schedule)" : "") +
            $"; best validation at step {result.BestStep:N0}";
        string seen = corpusTokensSeen is long corpusSeen
            ? $"{result.TokensSeen:N0} positions: {corpusSeen:N0} corpus tokens " +
              $"({corpusSeen / (double)trainTokens:F1} epochs) " +
              $"and {result.TokensSeen - corpusSeen:N0} of packed questions"
            : $"{result.TokensSeen:N0} ({result.TokensSeen / (double)trainTokens:F1} epochs)";
        string time = $"{elapsed.TotalMinutes:F0} minutes on 2 CPU cores (this session's part of the run)" +
            (resumed ? "" : $", {result.TokensSeen / Math.Max(1, elapsed.TotalSeconds):N0} positions/s");
        string text = $"""
            # {title}, {model.ParameterCount / 1e6:F1}M parameters

            {origin} by `softprompt pretrain` on the corpus in `{corpusDir}` (its README.md lists the sources,
            licences and hashes; rebuilt by `bash tools/make_data.sh`). No task's validation or test text is in that
            corpus.
            {(mixture is null ? "" : $"Each step also trained {mixture} (LM adaptation; only the answers are scored).")}

            | | |
            | --- | --- |
            | architecture | {architecture} |
            | parameters | {model.ParameterCount:N0} |
            | layers × width | {shape} |
            | context | {c.MaxPositions} tokens |
            | tokenizer | {tokenizer}, {c.VocabSize} tokens, {tokenizerOrigin} (`tokenizer.json`) |
            {objective}| training corpus | {trainTokens:N0} tokens |
            | steps | {steps} |
            | tokens seen | {seen} |
            | validation loss | {loss} |
            | validation perplexity | {perplexity} |
            | weights | `model.safetensors`, bfloat16 |
            | training time | {time} |

            {measure}

            Reproduce the model:

                {reproduce}
            """;
        File.WriteAllText(path, text + "\n");
    }
}
