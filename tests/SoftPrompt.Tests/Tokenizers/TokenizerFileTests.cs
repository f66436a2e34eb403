using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

public class TokenizerFileTests
{
    [Fact]
    public void Byte_level_tokenizer_json_written_by_us_reads_back_to_the_same_encoder()
    {
        using var dir = new TempDirectory();
        var gpt2 = (ByteLevelBpeTokenizer)TokenizerParityTests.Gpt2.Value;
        string path = dir.File("tokenizer.json");
        TokenizerJson.Write(path, gpt2);
        var reread = TokenizerLoader.Load(dir.Path);
        Assert.IsType<ByteLevelBpeTokenizer>(reread);
        Assert.Equal(gpt2.VocabSize, reread.VocabSize);
        foreach (var (text, ids) in TokenizerParityTests.Expected("gpt2"))
            Assert.Equal(ids, reread.Encode(text));
        Assert.Equal(gpt2.EosId, reread.EosId);
    }

    [Fact]
    public void Special_tokens_given_to_Write_are_matched_whole_after_reading_back()
    {
        using var dir = new TempDirectory();
        var gpt2 = (ByteLevelBpeTokenizer)TokenizerParityTests.Gpt2.Value;
        string path = dir.File("tokenizer.json");
        var specials = new[] { new SpecialToken(50256, "<|endoftext|>"), new SpecialToken(50257, "<|pad|>") };
        TokenizerJson.Write(path, gpt2, specials);
        var reread = TokenizerLoader.Load(path);
        Assert.Equal(50258, reread.VocabSize);
        Assert.Equal(50257, reread.PadId);
        var (text, ids) = TokenizerParityTests.Expected("gpt2")[1];
        // Around the specials, the text between is encoded as GPT-2's reference encoder encodes it alone.
        Assert.Equal(new[] { 50257 }.Concat(ids).Append(50256).Append(50257),
            reread.Encode("<|pad|>" + text + "<|endoftext|><|pad|>"));
        Assert.Equal("<|pad|>", reread.TokenText(50257));
        Assert.False(File.Exists(path + ".tmp"));

        var clash = Assert.Throws<ArgumentException>(() => TokenizerJson.Write(path, gpt2,
            new[] { new SpecialToken(995, "<|pad|>") }));
        Assert.Contains("995", clash.Message);
    }

    [Fact]
    public void TinyStories_vocabulary_encodes_common_words_whole_and_round_trips()
    {
        var file = TinyStoriesBin.Read(SharedModels.TinyStoriesPath);
        var tokenizer = SentencePieceBpeTokenizer.FromScores(file.Vocab.Pieces, file.Vocab.Scores);
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
        const string text = "Once upon a time, there was a little dog. Its name was Tim! Émile 🙂";
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids));
        // "▁a" and "▁was" are merged pieces of a 512-token vocabulary trained on such stories: no byte fallback for
        // them.
        var words = tokenizer.Encode("a was");
        Assert.All(words, id => Assert.True(id >= 259, $"id {id} is a byte or special token"));
        Assert.True(words.Length <= 3);
        // An emoji is not in the vocabulary: 4 UTF-8 bytes, 4 byte tokens <0xNN> (ids 3..258).
        var emoji = tokenizer.Encode("🙂");
        Assert.Contains(emoji, id => id >= 3 && id < 259);
    }

    [Fact]
    public void Bad_tokenizer_files_give_errors_that_name_the_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, "{ \"model\": { \"type\": \"WordPiece\", \"vocab\": {} } }");
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("WordPiece", e.Message);

        File.WriteAllText(path, "{ \"model\": ");
        e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(path));
        Assert.Contains("not valid JSON", e.Message);

        File.WriteAllText(path, "{ \"model\": { \"type\": \"BPE\", \"vocab\": { \"a\": 0 }, \"merges\": [ 5 ] } }");
        e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(path));
        Assert.Contains("merge #0", e.Message);

        File.Delete(path);
        var missing = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("encoder.json", missing.Message);

        string encoder = dir.File("encoder.json");
        File.WriteAllText(encoder, "{ \"a\": 0, ");
        missing = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(dir.File("vocab.bpe"), missing.FileName);
        Assert.Contains("vocab.bpe", missing.Message);

        File.WriteAllText(dir.File("vocab.bpe"), "#version: 0.2\na b\n");
        e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains(encoder, e.Message);

        // A complete vocabulary but a merges line that is not two tokens: the file and line are named.
        var gpt2Dir = TokenizerParityTests.FixtureDir("gpt2");
        File.Copy(Path.Combine(gpt2Dir, "encoder.json"), encoder, overwrite: true);
        File.WriteAllText(dir.File("vocab.bpe"), "#version: 0.2\nĠ t\nĠt he extra\n");
        e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("vocab.bpe, line 3", e.Message);

        var absent = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(dir.File("absent.json")));
        Assert.Contains("absent.json", absent.Message);
    }
}
