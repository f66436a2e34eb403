using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;

namespace SoftPrompt.Tests.Support;

/// <summary>A randomly initialised two-layer BERT with a WordPiece vocabulary trained on the test's own texts: small
/// enough that the encoder tests train it in milliseconds, real enough to have [CLS], [SEP], [MASK] and
/// padding.</summary>
public static class TinyBert
{
    public static (Bert Model, WordPieceTokenizer Tokenizer) Build(IEnumerable<string> corpus, int vocabSize = 120,
        int maxPositions = 64, int seed = 3, float std = 0.02f)
    {
        var trainer = new WordPieceTrainer();
        foreach (var text in corpus) trainer.Add(text);
        var tokenizer = trainer.Train(vocabSize, minPairCount: 1);
        var model = new Bert(new ModelConfig
        {
            Architecture = Architecture.Bert, VocabSize = tokenizer.VocabSize, HiddenSize = 16, NumLayers = 2,
            NumHeads = 2,
            IntermediateSize = 32, MaxPositions = maxPositions, TypeVocabSize = 2, NormEps = 1e-12f, HiddenAct = "gelu",
        });
        model.InitializeRandom(seed, std);
        return (model, tokenizer);
    }
}
