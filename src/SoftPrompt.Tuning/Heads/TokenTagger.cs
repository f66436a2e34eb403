using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Heads;

/// <summary>
/// Sequence labelling with a per-token head (P-tuning v2's setup for tagging): the sentence is the words joined by
/// spaces, each word's first sub-token's final hidden state goes through a linear layer to one score per tag, and the
/// loss is cross-entropy over words. A causal model has seen only the left context there, an encoder the whole
/// sentence (as BERT tags); the metric is token accuracy.
/// </summary>
public sealed class TokenTagger : HeadObjective<TaggedSentence>
{
    public const string FileName = "softprompt_tagger_head.safetensors", HeadName = "tagger_head";

    public TokenTagger(TransformerModel model, ITokenizer tokenizer, TaggingTask task, ITrainableAdapter? adapter,
        LinearHead head)
        : base(model, tokenizer, adapter, head, FileName, task.Tags, $"task {task.Name}'s tags")
    {
        Task = task;
        _tagIndex = task.Tags.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
    }

    private readonly Dictionary<string, int> _tagIndex;

    public static LinearHead NewHead(TaggingTask task, ModelConfig model, int seed = 1) => new(task.Tags,
        model.HiddenSize, HeadName, seed);

    public static LinearHead LoadHead(string directory, TaggingTask task, ModelConfig model) =>
        LinearHead.Load(Path.Combine(directory, FileName), task.Tags, model.HiddenSize, HeadName);

    public TaggingTask Task { get; }

    /// <summary>
    /// The sentence's tokens and where each word's first sub-token is. Words are encoded one by one, as they appear in
    /// the sentence: after a space, except the first. A SentencePiece model that adds a dummy-prefix space already
    /// writes every word that way on its own, so there the word is encoded bare. Words that start past the model's
    /// positions are left out (<paramref name="wordStarts"/> holds only the words that fit).
    /// </summary>
    public int[] Encode(TaggedSentence sentence, out int[] wordStarts)
    {
        bool spaceIsImplied = Tokenizer is SentencePieceBpeTokenizer { AddDummyPrefix: true };
        var ids = new List<int>();
        var starts = new List<int>();
        int max = TextPositions;
        for (int w = 0; w < sentence.Words.Count && ids.Count < max; w++)
        {
            var pieces = Tokenizer.Encode(w == 0 || spaceIsImplied ? sentence.Words[w] : " " + sentence.Words[w]);
            if (pieces.Length == 0)
                throw new ArgumentException($"Word {w} (\"{sentence.Words[w]}\") encodes to no tokens.");
            starts.Add(ids.Count);
            ids.AddRange(pieces);
        }
        wordStarts = starts.ToArray();
        return ids.Count <= max ? ids.ToArray() : ids.GetRange(0, max).ToArray();
    }

    /// <summary>Scores (N, C) of the N words of the batch that fit the model, and their gold tags.</summary>
    public (Tensor Logits, int[] Gold) Logits(Tape tape, IReadOnlyList<TaggedSentence> batch)
    {
        var rows = new List<int[]>();
        var starts = new List<int[]>();
        var gold = new List<int>();
        foreach (var sentence in batch)
        {
            rows.Add(Encode(sentence, out var wordStarts));
            starts.Add(wordStarts.Select(s => s + TextStart).ToArray());
            for (int w = 0; w < wordStarts.Length; w++) gold.Add(_tagIndex[sentence.Tags[w]]);
        }
        return (HeadLogits(tape, rows, starts), gold.ToArray());
    }

    public override Tensor Loss(Tape tape, IReadOnlyList<TaggedSentence> batch)
    {
        var (logits, gold) = Logits(tape, batch);
        return Fn.CrossEntropy(tape, logits, gold);
    }

    /// <summary>Each sentence's predicted tags; null for words past the model's positions.</summary>
    public string?[][] Predict(IReadOnlyList<TaggedSentence> sentences, int batchSize = 16) =>
        InBatches(sentences, batchSize, (tape, chunk) =>
        {
            var best = Best(Logits(tape, chunk).Logits);
            int next = 0;
            return chunk.Select(s =>
            {
                var tags = new string?[s.Words.Count];
                Encode(s, out var wordStarts);
                for (int w = 0; w < wordStarts.Length; w++) tags[w] = best[next++];
                return tags;
            }).ToArray();
        });

    /// <summary>Correct tags over all words (words that do not fit count as wrong).</summary>
    public double TokenAccuracy(IReadOnlyList<TaggedSentence> sentences)
    {
        var predicted = Predict(sentences);
        long correct = 0, total = 0;
        for (int s = 0; s < sentences.Count; s++)
            for (int w = 0; w < sentences[s].Tags.Count; w++, total++)
                if (predicted[s][w] == sentences[s].Tags[w]) correct++;
        return correct / (double)total;
    }

    public override double Score(IReadOnlyList<TaggedSentence> examples) => TokenAccuracy(examples);
    public override string ScoreName => "token accuracy";
}
