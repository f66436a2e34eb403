using SoftPrompt.Models;
using SoftPrompt.Training.Pretraining;

namespace SoftPrompt.Cli;

/// <summary>MODEL_CARD.md for a pretrained base: what it was trained on, how big, how long, how good, how to redo it.</summary>
public static class ModelCard
{
    public static void Write(string path, CausalLanguageModel model, PretrainResult result, float validationLoss,
        long trainTokens, long validationTokens, TimeSpan elapsed, string reproduce, string corpusDir)
    {
        var c = model.Config;
        string text = $"""
            # Base model: LLaMA-style, {model.ParameterCount / 1e6:F1}M parameters

            Pretrained from scratch by `softprompt pretrain` on the corpus in `{corpusDir}` (Brown corpus, Jane Austen's
            novels, fortunes, WordNet glosses; see data/corpus/README.md for sources and licences; rebuilt by
            `bash tools/make_data.sh`). No task's validation or test text is in that corpus.

            | | |
            | --- | --- |
            | architecture | LLaMA (RMSNorm, rotary positions, SwiGLU, grouped-query attention), tied LM head |
            | parameters | {model.ParameterCount:N0} |
            | layers × width | {c.NumLayers} × {c.HiddenSize}, {c.NumHeads} heads ({c.KvHeads} key/value heads), MLP {c.IntermediateSize} |
            | context | {c.MaxPositions} tokens |
            | tokenizer | byte-level BPE, {c.VocabSize} tokens, trained on the training corpus (`tokenizer.json`) |
            | training corpus | {trainTokens:N0} tokens |
            | steps | {result.Steps:N0} (best validation at step {result.BestStep:N0}) |
            | tokens seen | {result.TokensSeen:N0} ({result.TokensSeen / (double)trainTokens:F1} epochs) |
            | validation loss | {validationLoss:F4} nats/token over {validationTokens:N0} held-out tokens |
            | validation perplexity | {Math.Exp(validationLoss):F2} |
            | weights | `model.safetensors`, bfloat16 |
            | training time | {elapsed.TotalMinutes:F0} minutes on 2 CPU cores |

            Reproduce the perplexity:

                softprompt eval --model {Path.GetDirectoryName(path)} --perplexity {corpusDir}/validation.txt

            Reproduce the model:

                {reproduce}
            """;
        File.WriteAllText(path, text + "\n");
    }
}
