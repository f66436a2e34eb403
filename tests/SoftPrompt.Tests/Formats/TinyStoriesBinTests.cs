using System.Buffers.Binary;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Formats;

public class TinyStoriesBinTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly Lazy<TinyStoriesModel> Model = new(() => TinyStoriesBin.Read(SharedModels.TinyStoriesPath));

    [Fact]
    public void Header_gives_the_llama_config()
    {
        var c = Model.Value.Config;
        Assert.Equal(Architecture.Llama, c.Architecture);
        Assert.Equal(64, c.HiddenSize);
        Assert.Equal(172, c.IntermediateSize);
        Assert.Equal(512, c.MaxPositions);
        Assert.Equal(512, c.VocabSize);
        Assert.Equal(5, c.NumLayers);
        Assert.Equal(8, c.NumHeads);
        Assert.Equal(4, c.KvHeads);
        Assert.Equal(8, c.HeadDim);
        Assert.Equal(RotaryPairing.Interleaved, c.RotaryPairing);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(1e-5f, c.NormEps);
        Assert.Equal(10000f, c.RopeTheta);
        Assert.Equal(1, c.BosTokenId);
        Assert.Equal(2, c.EosTokenId);
    }

    [Fact]
    public void Vocabulary_has_512_sentencepiece_pieces()
    {
        var vocab = Model.Value.Vocab;
        Assert.Equal(512, vocab.Pieces.Length);
        Assert.Equal(512, vocab.Scores.Length);
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>"], vocab.Pieces[..4]);
        Assert.Equal("<0xFF>", vocab.Pieces[258]);
        Assert.Contains(vocab.Pieces, p => p.StartsWith('\u2581') && p.Length > 1);
        Assert.All(vocab.Scores, s => Assert.True(float.IsFinite(s)));
    }

    [Fact]
    public void Weights_have_hf_names_and_shapes_and_total_260032_floats()
    {
        var weights = Model.Value.Weights;
        Assert.Equal(1 + 9 * 5 + 1, weights.Count);
        Assert.Equal(260_032, weights.Values.Sum(w => (long)w.Data.Length));
        Assert.All(weights.Values, w => Assert.Equal(w.Shape.Aggregate(1, (a, b) => a * b), w.Data.Length));
        Assert.Equal([512, 64], weights["model.embed_tokens.weight"].Shape);
        Assert.Equal([64], weights["model.norm.weight"].Shape);
        Assert.False(weights.ContainsKey("lm_head.weight"));
        for (int i = 0; i < 5; i++)
        {
            string layer = $"model.layers.{i}.";
            Assert.Equal([64], weights[layer + "input_layernorm.weight"].Shape);
            Assert.Equal([64, 64], weights[layer + "self_attn.q_proj.weight"].Shape);
            Assert.Equal([32, 64], weights[layer + "self_attn.k_proj.weight"].Shape);
            Assert.Equal([32, 64], weights[layer + "self_attn.v_proj.weight"].Shape);
            Assert.Equal([64, 64], weights[layer + "self_attn.o_proj.weight"].Shape);
            Assert.Equal([64], weights[layer + "post_attention_layernorm.weight"].Shape);
            Assert.Equal([172, 64], weights[layer + "mlp.gate_proj.weight"].Shape);
            Assert.Equal([172, 64], weights[layer + "mlp.up_proj.weight"].Shape);
            Assert.Equal([64, 172], weights[layer + "mlp.down_proj.weight"].Shape);
        }
    }

    [Fact]
    public void Weights_land_under_the_right_names()
    {
        // RMSNorm gains of this trained model are all well above zero while every matrix is centred near zero, so a
        // slip in the kind-by-kind order of the file would put the wrong kind of values under some name.
        foreach (var (name, weight) in Model.Value.Weights)
        {
            if (name.Contains("norm")) Assert.True(weight.Data.Min() > 0.3f,
                $"{name} looks like a matrix, not norm gains");
            else Assert.True(Math.Abs(weight.Data.Average()) < 0.05, $"{name} looks like norm gains, not a matrix");
        }
        Assert.Equal(0.9722429513931274f, Model.Value.Weights["model.layers.0.input_layernorm.weight"].Data[0]);
        Assert.Equal(0.04439278692007065f, Model.Value.Weights["model.layers.0.self_attn.q_proj.weight"].Data[0]);
    }

    private string Copy(Func<byte[], byte[]> change)
    {
        string path = _dir.File($"model-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, change(File.ReadAllBytes(SharedModels.TinyStoriesPath)));
        return path;
    }

    private static void AssertFails(string path, params string[] fragments)
    {
        var e = Assert.Throws<ModelFormatException>(() => TinyStoriesBin.Read(path));
        Assert.StartsWith(path, e.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    private static byte[] SetInt(byte[] bytes, int offset, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    [Fact]
    public void Truncated_copy_fails_clearly()
    {
        AssertFails(Copy(b => b[..^100]), "truncated", "260032 floats");
        AssertFails(Copy(b => b[..100]), "100 bytes", "shorter than the 256-byte header");
        AssertFails(Copy(b => b[..2000]), "truncated", "260032 weights");
    }

    [Fact]
    public void Trailing_bytes_fail_clearly() => AssertFails(Copy(b => [.. b, 0, 0, 0, 0]), "longer than expected",
        "1040128");

    [Fact]
    public void Wrong_version_or_model_type()
    {
        AssertFails(Copy(b => { b[0] = 2; return b; }), "version is 2");
        AssertFails(Copy(b => { b[5] = (byte)'m'; return b; }), "model type is \"mlama\"");
        AssertFails(Copy(b => SetInt(b, 1, 1_000_000)), "model type's length is 1000000");
    }

    // Header fields after "llama": hidden at 10, intermediate 14, max_seq 18, vocab 22, layers 26, heads 30, kv heads
    // 34.
    [Theory]
    [InlineData(22, int.MaxValue, "vocab_size")]
    [InlineData(10, -64, "hidden_size")]
    [InlineData(26, 0, "num_layers")]
    [InlineData(34, 9, "num_key_value_heads")]
    public void Hostile_sizes_are_refused_before_allocation(int offset, int value, string field)
        => AssertFails(Copy(b => SetInt(b, offset, value)), $"{field} is {value}", "outside");

    [Fact]
    public void Sizes_within_bounds_but_too_big_together_are_refused()
        => AssertFails(Copy(b => SetInt(SetInt(b, 22, 1 << 20), 10, 1 << 16)), "model.embed_tokens.weight",
            "68719476736 floats", "more than one array can hold");

    [Fact]
    public void Inconsistent_heads_and_flags()
    {
        AssertFails(Copy(b => SetInt(b, 30, 6)), "inconsistent sizes", "not divisible by 6 attention heads");
        AssertFails(Copy(b => { b[38] = 7; return b; }), "shared_output_weight is 7");
        AssertFails(Copy(b => { b[200] = 1; return b; }), "header byte 200", "zero");
    }

    [Fact]
    public void Hostile_vocabulary_entries()
    {
        AssertFails(Copy(b => SetInt(b, 260, 1 << 30)), "vocabulary entry 0", "claims 1073741824 bytes");
        AssertFails(Copy(b => SetInt(b, 260, -1)), "vocabulary entry 0", "claims -1 bytes");
        AssertFails(Copy(b => SetInt(b, 256, BitConverter.SingleToInt32Bits(float.NaN))), "vocabulary entry 0",
            "finite");
        AssertFails(Copy(b => { b[264] = 0xFF; return b; }), "vocabulary entry 0", "not valid UTF-8");
    }
}
