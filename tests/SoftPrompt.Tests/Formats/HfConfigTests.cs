using System.Text.Json;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Formats;

public class HfConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    // As published for gpt2 (small), trimmed of fields we do not read.
    private const string Gpt2Json = """
        {
          "activation_function": "gelu_new",
          "architectures": ["GPT2LMHeadModel"],
          "attn_pdrop": 0.1,
          "bos_token_id": 50256,
          "embd_pdrop": 0.1,
          "eos_token_id": 50256,
          "initializer_range": 0.02,
          "layer_norm_epsilon": 1e-05,
          "model_type": "gpt2",
          "n_ctx": 1024,
          "n_embd": 768,
          "n_head": 12,
          "n_layer": 12,
          "n_positions": 1024,
          "resid_pdrop": 0.1,
          "summary_activation": null,
          "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
          "vocab_size": 50257
        }
        """;

    // As published for TinyLlama-1.1B: grouped-query attention, no rope_theta (so the default applies).
    private const string LlamaJson = """
        {
          "architectures": ["LlamaForCausalLM"],
          "bos_token_id": 1,
          "eos_token_id": 2,
          "hidden_act": "silu",
          "hidden_size": 2048,
          "initializer_range": 0.02,
          "intermediate_size": 5632,
          "max_position_embeddings": 2048,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 22,
          "num_key_value_heads": 4,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": null,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "vocab_size": 32000
        }
        """;

    private string Save(string json, string name = "config.json")
    {
        string path = _dir.File(name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>The sample with one field replaced (raw JSON value) or removed (null).</summary>
    private static string With(string json, string field, string? rawValue)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node.Remove(field);
        if (rawValue is not null) node[field] = System.Text.Json.Nodes.JsonNode.Parse(rawValue);
        return node.ToJsonString();
    }

    private void AssertFails(string json, params string[] fragments)
    {
        string path = Save(json);
        var e = Assert.Throws<ModelFormatException>(() => HfConfig.Read(path));
        Assert.StartsWith(path, e.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Reads_gpt2()
    {
        var c = HfConfig.Read(Save(Gpt2Json));
        Assert.Equal(Architecture.Gpt2, c.Architecture);
        Assert.Equal(50257, c.VocabSize);
        Assert.Equal(768, c.HiddenSize);
        Assert.Equal(12, c.NumLayers);
        Assert.Equal(12, c.NumHeads);
        Assert.Equal(12, c.KvHeads);
        Assert.Equal(3072, c.IntermediateSize);
        Assert.Equal(1024, c.MaxPositions);
        Assert.Equal(1e-5f, c.NormEps);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(50256, c.BosTokenId);
        Assert.Equal(50256, c.EosTokenId);
        Assert.Equal("gelu_new", c.HiddenAct);
        Assert.Equal(64, c.HeadDim);
    }

    [Fact]
    public void Gpt2_options_n_inner_n_ctx_activation_and_untied_head()
    {
        Assert.Equal(3072, HfConfig.Read(Save(With(Gpt2Json, "n_inner", "null"))).IntermediateSize);
        Assert.Equal(1000, HfConfig.Read(Save(With(Gpt2Json, "n_inner", "1000"))).IntermediateSize);
        Assert.Equal(1024, HfConfig.Read(Save(With(Gpt2Json, "n_positions", null))).MaxPositions);
        Assert.Equal("gelu", HfConfig.Read(Save(With(Gpt2Json, "activation_function", "\"gelu\""))).HiddenAct);
        Assert.Equal("gelu_new", HfConfig.Read(Save(With(Gpt2Json, "activation_function", null))).HiddenAct);
        Assert.False(HfConfig.Read(Save(With(Gpt2Json, "tie_word_embeddings", "false"))).TieWordEmbeddings);
    }

    [Fact]
    public void Reads_llama()
    {
        var c = HfConfig.Read(Save(LlamaJson));
        Assert.Equal(Architecture.Llama, c.Architecture);
        Assert.Equal(32000, c.VocabSize);
        Assert.Equal(2048, c.HiddenSize);
        Assert.Equal(22, c.NumLayers);
        Assert.Equal(32, c.NumHeads);
        Assert.Equal(4, c.KvHeads);
        Assert.Equal(256, c.KvWidth);
        Assert.Equal(5632, c.IntermediateSize);
        Assert.Equal(2048, c.MaxPositions);
        Assert.Equal(1e-5f, c.NormEps);
        Assert.Equal(10000f, c.RopeTheta);
        Assert.Equal(RotaryPairing.RotateHalf, c.RotaryPairing);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(1, c.BosTokenId);
        Assert.Equal(2, c.EosTokenId);
        Assert.Equal("silu", c.HiddenAct);
    }

    [Fact]
    public void Llama_defaults_and_variants()
    {
        var noKv = HfConfig.Read(Save(With(LlamaJson, "num_key_value_heads", null)));
        Assert.Equal(32, noKv.KvHeads);
        Assert.Equal(500000f, HfConfig.Read(Save(With(LlamaJson, "rope_theta", "500000.0"))).RopeTheta);
        Assert.Equal(128001, HfConfig.Read(Save(With(LlamaJson, "eos_token_id", "[128001, 128009]"))).EosTokenId);
        Assert.Null(HfConfig.Read(Save(With(LlamaJson, "bos_token_id", "null"))).BosTokenId);
        Assert.False(HfConfig.Read(Save(With(LlamaJson, "tie_word_embeddings", null))).TieWordEmbeddings);
        Assert.Equal(1e-6f, HfConfig.Read(Save(With(LlamaJson, "rms_norm_eps", null))).NormEps);
        Save(LlamaJson);
        Assert.Equal(2048, HfConfig.Read(_dir.Path).HiddenSize); // a model folder stands for its config.json
    }

    [Theory]
    [InlineData("n_embd")]
    [InlineData("n_layer")]
    [InlineData("n_head")]
    [InlineData("vocab_size")]
    public void Gpt2_missing_required_field(string field) => AssertFails(With(Gpt2Json, field, null),
        $"field \"{field}\"", "is missing");

    [Fact]
    public void Gpt2_missing_both_position_fields()
        => AssertFails(With(With(Gpt2Json, "n_positions", null), "n_ctx", null), "\"n_positions\"", "n_ctx");

    [Theory]
    [InlineData("hidden_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("num_attention_heads")]
    [InlineData("intermediate_size")]
    [InlineData("max_position_embeddings")]
    [InlineData("vocab_size")]
    public void Llama_missing_required_field(string field) => AssertFails(With(LlamaJson, field, null),
        $"field \"{field}\"", "is missing");

    [Theory]
    [InlineData("n_head", "\"12\"", "a whole number", "a string")]
    [InlineData("n_embd", "768.5", "a whole number", "a number")]
    [InlineData("n_layer", "[12]", "a whole number", "an array")]
    [InlineData("layer_norm_epsilon", "\"1e-5\"", "a number", "a string")]
    [InlineData("tie_word_embeddings", "\"yes\"", "true or false", "a string")]
    [InlineData("eos_token_id", "-1", "a non-negative token id", "-1")]
    [InlineData("model_type", "7", "a string", "a number")]
    public void Gpt2_field_of_the_wrong_type(string field, string value, string expected, string actual)
        => AssertFails(With(Gpt2Json, field, value), $"field \"{field}\"", $"must be {expected}", actual);

    private const string T5Base =
        "{\"model_type\":\"t5\",\"vocab_size\":10,\"d_model\":8,\"num_heads\":2,\"d_ff\":16,\"num_layers\":1,";

    [Theory]
    [InlineData(T5Base + "\"d_kv\":8}", "field \"d_kv\"", "d_model / num_heads")]
    [InlineData(T5Base + "\"feed_forward_proj\":\"gated-tanh\"}", "field \"feed_forward_proj\"", "gated-tanh")]
    [InlineData(T5Base + "\"relative_attention_num_buckets\":32,\"relative_attention_max_distance\":8}",
        "max_distance 8", "must exceed half")]
    public void T5_settings_we_do_not_run_are_refused_by_name(string json, params string[] fragments) =>
        AssertFails(json, fragments);

    [Fact]
    public void T5_config_round_trips_through_write_and_read()
    {
        var config = new ModelConfig
        {
            Architecture = Architecture.T5, VocabSize = 40, HiddenSize = 16, NumLayers = 2, DecoderLayers = 3,
            NumHeads = 4, NumKvHeads = 4, IntermediateSize = 24, MaxPositions = 64, GatedFeedForward = true,
            HiddenAct = "gelu_new",
            RelativeAttentionBuckets = 16, RelativeAttentionMaxDistance = 40, PadTokenId = 5, DecoderStartTokenId = 5,
            EosTokenId = 3,
            TieWordEmbeddings = false,
        };
        string path = Path.Combine(Path.GetTempPath(), $"t5-config-{Guid.NewGuid():N}.json");
        try
        {
            HfConfig.Write(config, path);
            Assert.Contains("\"gated-gelu\"", File.ReadAllText(path));
            Assert.Equal(config, HfConfig.Read(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Unknown_or_missing_model_type()
    {
        AssertFails(With(Gpt2Json, "model_type", "\"mamba\""), "model_type \"mamba\" is not supported",
            "gpt2, llama, qwen2, qwen3, phi3, gemma3_text, gpt_neox, bert, t5");
        AssertFails(With(Gpt2Json, "model_type", null), "field \"model_type\"", "is missing");
    }

    [Theory]
    [InlineData("activation_function", "\"relu\"", "gelu_new")]
    [InlineData("scale_attn_by_inverse_layer_idx", "true", "not implemented")]
    [InlineData("scale_attn_weights", "false", "not implemented")]
    public void Gpt2_unsupported_settings(string field, string value, string fragment)
        => AssertFails(With(Gpt2Json, field, value), $"field \"{field}\"", fragment);

    [Theory]
    [InlineData("hidden_act", "\"gelu\"", "silu")]
    [InlineData("rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 8.0}",
        "not implemented (implemented: llama3, linear)")]
    [InlineData("rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8.0}", "low_freq_factor\" is missing")]
    [InlineData("rope_scaling", "{\"type\": \"linear\", \"factor\": -2}", "must be positive")]
    [InlineData("rope_scaling", "8", "must be an object")]
    [InlineData("use_sliding_window", "true", "not implemented")]
    [InlineData("attention_bias", "true", "not implemented")]
    [InlineData("head_dim", "128", "64")]
    public void Llama_unsupported_settings(string field, string value, string fragment)
        // "field \"{field}" without the closing quote: or a field inside it, "rope_scaling.factor"
        => AssertFails(With(LlamaJson, field, value), $"field \"{field}", fragment);

    [Fact]
    public void Inconsistent_sizes_are_reported_against_the_file()
    {
        AssertFails(With(Gpt2Json, "n_head", "7"), "not divisible by 7 attention heads");
        AssertFails(With(LlamaJson, "num_key_value_heads", "5"), "not a multiple of 5 key/value heads");
        AssertFails(With(Gpt2Json, "n_layer", "0"), "number of layers must be positive");
    }

    [Fact]
    public void Not_json_or_not_an_object()
    {
        AssertFails("{\"model_type\": ", "not valid JSON");
        AssertFails("[1]", "must be a JSON object");
        var e = Assert.Throws<ModelFormatException>(() => HfConfig.Read(_dir.File("absent.json")));
        Assert.Contains("does not exist", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Written_configs_read_back_equal_and_use_hf_names(bool llama)
    {
        var config = llama
            ? HfConfig.Read(Save(LlamaJson)) with { RotaryPairing = RotaryPairing.Interleaved, RopeTheta = 500000f,
                TieWordEmbeddings = true }
            : HfConfig.Read(Save(With(Gpt2Json, "n_inner", "1000"))) with { HiddenAct = "gelu_pytorch_tanh",
                NormEps = 1e-6f };
        string path = _dir.File("written.json");
        HfConfig.Write(config, path);
        Assert.Equal(config, HfConfig.Read(path));
        Assert.False(File.Exists(path + ".tmp"));

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        Assert.Equal(llama ? "llama" : "gpt2", root.GetProperty("model_type").GetString());
        Assert.Equal(llama ? "LlamaForCausalLM" : "GPT2LMHeadModel", root.GetProperty("architectures")[0].GetString());
        Assert.Equal(config.HiddenSize, root.GetProperty(llama ? "hidden_size" : "n_embd").GetInt32());
        Assert.Equal(config.NumLayers, root.GetProperty(llama ? "num_hidden_layers" : "n_layer").GetInt32());
        Assert.Equal(config.TieWordEmbeddings, root.GetProperty("tie_word_embeddings").GetBoolean());
        if (llama) Assert.Equal("interleaved", root.GetProperty(HfConfig.RotaryPairingKey).GetString());
    }
}
