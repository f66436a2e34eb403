namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// Trains a WordPiece vocabulary as Hugging Face's WordPieceTrainer does: BPE merges over BERT-normalised,
/// BERT-pre-tokenised words, where every character after a word's first carries the "##" prefix, so merged pieces come
/// out as word starts ("play") or continuations ("##ing"), the two kinds WordPiece's greedy matcher looks up. BPE
/// rather than the original likelihood-based WordPiece selection: same vocabulary shape, one merge loop for both
/// trainers (<see cref="PairMerging"/>), and the encoder does not care how the vocabulary was chosen.
/// </summary>
public sealed class WordPieceTrainer(bool lowercase = true)
{
    private readonly Dictionary<string, long> _wordCounts = new();

    public void Add(string text)
    {
        foreach (var word in WordPieceTokenizer.PreTokenize(WordPieceTokenizer.Normalize(text, lowercase)))
            _wordCounts[word] = _wordCounts.GetValueOrDefault(word) + 1;
    }

    /// <param name="vocabSize">At most this many tokens: BERT's special tokens (ids 0–4), the alphabet, then
    /// merges.</param>
    public WordPieceTokenizer Train(int vocabSize, int minPairCount = 2)
    {
        var tokens = WordPieceTokenizer.BertSpecialTokens.ToList();
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        int Symbol(string text)
        {
            if (ids.TryGetValue(text, out int id)) return id;
            ids[text] = tokens.Count;
            tokens.Add(text);
            return tokens.Count - 1;
        }

        var words = new List<int[]>(_wordCounts.Count);
        var counts = new List<long>(_wordCounts.Count);
        var ordered = _wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        // The alphabet first, in a fixed order, so ids do not depend on which word a character was first seen in.
        var characters = ordered.Select(kv => Characters(kv.Key)).ToList();
        foreach (var symbol in characters.SelectMany(c => c).Distinct().Order(StringComparer.Ordinal)) Symbol(symbol);
        for (int w = 0; w < ordered.Count; w++)
        {
            words.Add(characters[w].Select(Symbol).ToArray());
            counts.Add(ordered[w].Value);
        }
        int mergesWanted = vocabSize - tokens.Count;
        if (mergesWanted < 0)
            throw new ArgumentException(
                $"A vocabulary of {vocabSize} cannot hold the {WordPieceTokenizer.BertSpecialTokens.Length} special " +
                $"tokens and the corpus's {tokens.Count - WordPieceTokenizer.BertSpecialTokens.Length} characters.");
        PairMerging.Run(words, counts, mergesWanted, minPairCount,
            (left, right) => Symbol(tokens[left] + tokens[right][WordPieceTokenizer.ContinuationPrefix.Length..]));

        var vocab = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var specials = WordPieceTokenizer.BertSpecialTokens.Select((t, i) => new SpecialToken(i, t));
        return new WordPieceTokenizer(vocab, specials, lowercase);
    }

    // "play" → p, ##l, ##a, ##y
    private static string[] Characters(string word) =>
        word.EnumerateRunes().Select((r, i) => i == 0 ? r.ToString() : WordPieceTokenizer.ContinuationPrefix + r)
            .ToArray();
}
