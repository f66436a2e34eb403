using System.Text.Json;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Models.Formats;

/// <summary>
/// Hugging Face config.json for the architectures we run (model_type "gpt2", "llama" and "bert"), read into a
/// <see cref="ModelConfig"/> and written back in a form transformers loads. Settings that would change the model's
/// math in ways we do not implement (rope scaling, attention biases, ...) are refused rather than ignored.
/// </summary>
public static class HfConfig
{
    public const string FileName = "config.json";

    /// <summary>Not an HF key: marks a LLaMA whose q/k rows are in interleaved rotary order (see
    /// <see cref="RotaryPairing"/>). transformers ignores it, so such weights must be permuted before HF code can run
    /// them.</summary>
    public const string RotaryPairingKey = "softprompt_rotary_pairing";

    private static readonly string[] Gpt2Activations = ["gelu_new", "gelu_pytorch_tanh", "gelu"];

    /// <summary>Reads a config.json, or the config.json inside a model folder.</summary>
    public static ModelConfig Read(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        using var document = JsonFile.Load(path, maxBytes: 10_000_000);
        try
        {
            return Parse(document.RootElement, path);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json checks a string's UTF-8 only when the string is read.
            throw new ModelFormatException(path, $"unreadable text ({e.Message})", e);
        }
    }

    /// <summary>Parses config.json content; <paramref name="path"/> only names the source in errors.</summary>
    public static ModelConfig Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, $"config must be a JSON object, but it is {JsonFile.Describe(root)}.");
        var fields = new Fields(root, path);
        string modelType = fields.RequiredString("model_type");
        var config = modelType switch
        {
            "gpt2" => ParseGpt2(fields),
            "llama" or "qwen2" or "qwen3" or "phi3" => ParseLlama(fields, modelType),
            "gpt_neox" => ParseGptNeoX(fields),
            "gemma3_text" => ParseGemma3(fields),
            "gemma3" => throw fields.Error("model_type",
                "is \"gemma3\", the image-and-text model; its text model (model_type \"gemma3_text\", as the 270M " +
                "and 1B checkpoints are) is supported."),
            "bert" => ParseBert(fields),
            "t5" => ParseT5(fields),
            _ => throw new ModelFormatException(path,
                $"model_type \"{modelType}\" is not supported (supported: gpt2, llama, qwen2, qwen3, phi3, " +
                $"gemma3_text, gpt_neox, bert, t5)."),
        };
        config.ValidateFrom(path);
        return config;
    }

    private static ModelConfig ParseGpt2(Fields f)
    {
        int hidden = f.RequiredInt("n_embd");
        int heads = f.RequiredInt("n_head");
        string activation = f.OptionalString("activation_function") ?? "gelu_new";
        if (Array.IndexOf(Gpt2Activations, activation) < 0)
            throw f.Error("activation_function",
                $"is \"{activation}\"; GPT-2 models here need one of {string.Join(", ", Gpt2Activations)}.");
        f.Refuse("scale_attn_by_inverse_layer_idx", true, "attention scaled by layer index");
        f.Refuse("reorder_and_upcast_attn", true, "reordered, upcast attention");
        f.Refuse("scale_attn_weights", false, "attention without the 1/sqrt(head_dim) scale");
        f.Refuse("add_cross_attention", true, "cross-attention");
        return new ModelConfig
        {
            Architecture = Architecture.Gpt2,
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            NumLayers = f.RequiredInt("n_layer"),
            NumHeads = heads,
            NumKvHeads = heads,
            IntermediateSize = f.OptionalInt("n_inner") ?? 4 * hidden,
            MaxPositions = f.OptionalInt("n_positions") ?? f.OptionalInt("n_ctx")
                ?? throw f.Error("n_positions", "is missing (and so is its older name n_ctx)."),
            NormEps = f.OptionalFloat("layer_norm_epsilon") ?? 1e-5f,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? true,
            BosTokenId = f.OptionalTokenId("bos_token_id"),
            EosTokenId = f.OptionalTokenId("eos_token_id"),
            HiddenAct = activation,
        };
    }

    /// <param name="modelType">"llama", or a family that is LLaMA with a change: "qwen2" (q/k/v biases), "qwen3"
    /// (per-head q/k RMSNorm, head_dim apart from hidden_size / heads), "phi3" (fused qkv_proj and
    /// gate_up_proj).</param>
    private static ModelConfig ParseLlama(Fields f, string modelType)
    {
        int hidden = f.RequiredInt("hidden_size");
        int heads = f.RequiredInt("num_attention_heads");
        string activation = f.OptionalString("hidden_act") ?? "silu";
        if (activation != "silu")
            throw f.Error("hidden_act", $"is \"{activation}\"; {modelType} models here need \"silu\".");
        var scaling = f.Object("rope_scaling") is Fields r ? RopeScalingOf(r) : null;
        f.Refuse("attention_bias", true, "attention projections with biases");
        f.Refuse("mlp_bias", true, "MLP projections with biases");
        f.Refuse("use_sliding_window", true, "sliding-window attention");
        if (f.OptionalFloat("partial_rotary_factor") is float partial && partial != 1f)
            throw f.Error("partial_rotary_factor",
                $"is {partial}; rotary embeddings on part of each head are implemented for GPT-NeoX only.");
        int maxPositions = f.RequiredInt("max_position_embeddings");
        // Phi-3 attends over the last sliding_window positions only; within that many, that is full causal attention,
        // so contexts are capped there instead of computing something else beyond it.
        if (modelType == "phi3" && f.OptionalInt("sliding_window") is int window && window > 0) maxPositions =
            Math.Min(maxPositions, window);
        // transformers' Qwen3Config defaults head_dim to 128; LlamaConfig and Qwen2Config to hidden_size / heads.
        int? headDim = f.OptionalInt("head_dim") ?? (modelType == "qwen3" ? 128 : null);
        if (modelType != "qwen3" && headDim is int d && heads > 0 && d * heads != hidden)
            throw f.Error("head_dim",
                $"is {d}, but a {modelType} model here needs head_dim = hidden_size / num_attention_heads " +
                $"({hidden / heads}).");
        string pairing = f.OptionalString(RotaryPairingKey) ?? "rotate_half";
        return new ModelConfig
        {
            Architecture = Architecture.Llama,
            ModelType = modelType,
            HeadDimension = modelType == "qwen3" ? headDim : null,
            QkvBias = modelType == "qwen2",
            QkNorm = modelType == "qwen3",
            FusedProjections = modelType == "phi3",
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            NumLayers = f.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = f.OptionalInt("num_key_value_heads") ?? heads,
            IntermediateSize = f.RequiredInt("intermediate_size"),
            MaxPositions = maxPositions,
            NormEps = f.OptionalFloat("rms_norm_eps") ?? 1e-6f,
            RopeTheta = f.OptionalFloat("rope_theta") ?? 10000f,
            RopeScaling = scaling,
            RotaryPairing = pairing switch
            {
                "rotate_half" => RotaryPairing.RotateHalf,
                "interleaved" => RotaryPairing.Interleaved,
                _ => throw f.Error(RotaryPairingKey, $"is \"{pairing}\"; expected \"rotate_half\" or \"interleaved\"."),
            },
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? false,
            BosTokenId = f.OptionalTokenId("bos_token_id"),
            EosTokenId = f.OptionalTokenId("eos_token_id"),
            HiddenAct = activation,
        };
    }

    /// <summary>rope_scaling: "llama3" (Llama 3.1+) and "linear" are implemented; "default" is none; "dynamic",
    /// "yarn", "longrope" and others change the frequencies with the length and are refused.</summary>
    private static Engine.Ops.RopeScaling? RopeScalingOf(Fields r)
    {
        string type = r.OptionalString("rope_type") ?? r.OptionalString("type") ?? throw r.Error("rope_type",
            "is missing.");
        float factor = r.OptionalFloat("factor") ?? 1f;
        if (type == "default") return null;
        if (!(factor > 0)) throw r.Error("factor", $"is {factor}; it must be positive.");
        return type switch
        {
            "linear" => new Engine.Ops.RopeScaling("linear", factor),
            "llama3" => new Engine.Ops.RopeScaling("llama3", factor, r.OptionalFloat("low_freq_factor")
                ?? throw r.Error("low_freq_factor", "is missing."),
                r.OptionalFloat("high_freq_factor") ?? throw r.Error("high_freq_factor", "is missing."),
                r.OptionalInt("original_max_position_embeddings") ?? throw r.Error("original_max_position_embeddings",
                    "is missing.")),
            _ => throw r.Error("rope_type",
                $"is \"{type}\"; scaled rotary embeddings of that kind are not implemented (implemented: llama3, " +
                $"linear)."),
        };
    }

    /// <summary>GPT-NeoX / Pythia (GPTNeoXConfig's keys and defaults).</summary>
    private static ModelConfig ParseGptNeoX(Fields f)
    {
        int heads = f.RequiredInt("num_attention_heads");
        string activation = f.OptionalString("hidden_act") ?? "gelu";
        if (Array.IndexOf(Gpt2Activations, activation) < 0)
            throw f.Error("hidden_act",
                $"is \"{activation}\"; GPT-NeoX models here need one of {string.Join(", ", Gpt2Activations)}.");
        if (f.Has("rope_scaling")) throw f.Error("rope_scaling",
            "is set; scaled rotary embeddings are not implemented for GPT-NeoX.");
        f.Refuse("attention_bias", false, "attention projections without biases");
        float rotary = f.OptionalFloat("rotary_pct") ?? f.OptionalFloat("partial_rotary_factor") ?? 0.25f;
        if (!(rotary > 0 && rotary <= 1)) throw f.Error("rotary_pct", $"is {rotary}; it must be in (0, 1].");
        return new ModelConfig
        {
            Architecture = Architecture.GptNeoX,
            ModelType = "gpt_neox",
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = f.RequiredInt("hidden_size"),
            NumLayers = f.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = heads,
            IntermediateSize = f.RequiredInt("intermediate_size"),
            MaxPositions = f.RequiredInt("max_position_embeddings"),
            NormEps = f.OptionalFloat("layer_norm_eps") ?? 1e-5f,
            RopeTheta = f.OptionalFloat("rotary_emb_base") ?? f.OptionalFloat("rope_theta") ?? 10000f,
            RotaryFraction = rotary,
            ParallelResidual = f.OptionalBool("use_parallel_residual") ?? true,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? false,
            BosTokenId = f.OptionalTokenId("bos_token_id"),
            EosTokenId = f.OptionalTokenId("eos_token_id"),
            HiddenAct = activation,
        };
    }

    /// <summary>The keys transformers picks the model class by: "architectures" (one entry) and "model_type".</summary>
    private static void WriteIdentity(Utf8JsonWriter w, string architecture, string modelType)
    {
        w.WriteStartArray("architectures");
        w.WriteStringValue(architecture);
        w.WriteEndArray();
        w.WriteString("model_type", modelType);
    }

    private static void WriteRopeScaling(Utf8JsonWriter w, ModelConfig c)
    {
        if (c.RopeScaling is not { } scaling) return;
        w.WriteStartObject("rope_scaling");
        w.WriteString("rope_type", scaling.Type);
        w.WriteNumber("factor", scaling.Factor);
        if (scaling.Type == "llama3")
        {
            w.WriteNumber("low_freq_factor", scaling.LowFreqFactor);
            w.WriteNumber("high_freq_factor", scaling.HighFreqFactor);
            w.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositions);
        }
        w.WriteEndObject();
    }

    /// <summary>Gemma 3's text model (Gemma3TextConfig's keys and defaults).</summary>
    private static ModelConfig ParseGemma3(Fields f)
    {
        int layers = f.RequiredInt("num_hidden_layers");
        string activation = f.OptionalString("hidden_activation") ?? f.OptionalString("hidden_act")
            ?? "gelu_pytorch_tanh";
        if (activation is not ("gelu_pytorch_tanh" or "gelu_new"))
            throw f.Error("hidden_activation", $"is \"{activation}\"; Gemma 3 models here need \"gelu_pytorch_tanh\".");
        if (f.Has("attn_logit_softcapping")) throw f.Error("attn_logit_softcapping",
            "is set; soft-capped attention scores are not implemented.");
        if (f.Has("final_logit_softcapping")) throw f.Error("final_logit_softcapping",
            "is set; soft-capped logits are not implemented.");
        string kinds;
        if (f.StringList("layer_types") is { } types)
        {
            if (types.Count != layers) throw f.Error("layer_types",
                $"lists {types.Count} layers for num_hidden_layers {layers}.");
            kinds = string.Concat(types.Select(t => t switch
            {
                "sliding_attention" => 'S', "full_attention" => 'F',
                _ => throw f.Error("layer_types", $"holds \"{t}\"; expected sliding_attention or full_attention."),
            }));
        }
        else
        {
            int pattern = f.OptionalInt("sliding_window_pattern") ?? 6; // every pattern-th layer is global
            kinds = string.Concat(Enumerable.Range(0, layers).Select(i => (i + 1) % pattern == 0 ? 'F' : 'S'));
        }
        int maxPositions = f.RequiredInt("max_position_embeddings");
        // A local layer attends to the last sliding_window positions; within that many it is full attention.
        if (kinds.Contains('S')) maxPositions = Math.Min(maxPositions, f.OptionalInt("sliding_window") ?? 4096);
        int heads = f.RequiredInt("num_attention_heads");
        return new ModelConfig
        {
            Architecture = Architecture.Gemma3,
            ModelType = "gemma3_text",
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = f.RequiredInt("hidden_size"),
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = f.OptionalInt("num_key_value_heads") ?? heads,
            HeadDimension = f.OptionalInt("head_dim") ?? 256,
            IntermediateSize = f.RequiredInt("intermediate_size"),
            MaxPositions = maxPositions,
            NormEps = f.OptionalFloat("rms_norm_eps") ?? 1e-6f,
            RopeTheta = f.OptionalFloat("rope_theta") ?? 1_000_000f,
            LocalRopeTheta = f.OptionalFloat("rope_local_base_freq") ?? 10_000f,
            RopeScaling = f.Object("rope_scaling") is Fields r ? RopeScalingOf(r) : null,
            LayerKinds = kinds,
            AttentionScale = 1f / MathF.Sqrt(f.OptionalFloat("query_pre_attn_scalar") ?? 256f),
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? true,
            BosTokenId = f.OptionalTokenId("bos_token_id"),
            EosTokenId = f.OptionalTokenId("eos_token_id"),
            HiddenAct = "gelu_pytorch_tanh",
        };
    }

    private static void WriteGemma3(Utf8JsonWriter w, ModelConfig c)
    {
        WriteIdentity(w, "Gemma3ForCausalLM", "gemma3_text");
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("hidden_size", c.HiddenSize);
        w.WriteNumber("num_hidden_layers", c.NumLayers);
        w.WriteNumber("num_attention_heads", c.NumHeads);
        w.WriteNumber("num_key_value_heads", c.KvHeads);
        w.WriteNumber("head_dim", c.HeadDim);
        w.WriteNumber("intermediate_size", c.IntermediateSize);
        w.WriteNumber("max_position_embeddings", c.MaxPositions);
        if (c.LayerKinds?.Contains('S') == true) w.WriteNumber("sliding_window", c.MaxPositions);
        w.WriteStartArray("layer_types");
        foreach (char kind in c.LayerKinds ?? new string('F', c.NumLayers)) w.WriteStringValue(kind == 'S'
            ? "sliding_attention" : "full_attention");
        w.WriteEndArray();
        w.WriteNumber("rms_norm_eps", c.NormEps);
        w.WriteNumber("rope_theta", c.RopeTheta);
        w.WriteNumber("rope_local_base_freq", c.LocalRopeTheta ?? c.RopeTheta);
        WriteRopeScaling(w, c);
        w.WriteNumber("query_pre_attn_scalar",
            Math.Round(1.0 / ((double)c.AttentionScale!.Value * c.AttentionScale.Value), 3));
        w.WriteString("hidden_activation", "gelu_pytorch_tanh");
    }

    private static void WriteGptNeoX(Utf8JsonWriter w, ModelConfig c)
    {
        WriteIdentity(w, "GPTNeoXForCausalLM", "gpt_neox");
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("hidden_size", c.HiddenSize);
        w.WriteNumber("num_hidden_layers", c.NumLayers);
        w.WriteNumber("num_attention_heads", c.NumHeads);
        w.WriteNumber("intermediate_size", c.IntermediateSize);
        w.WriteNumber("max_position_embeddings", c.MaxPositions);
        w.WriteNumber("layer_norm_eps", c.NormEps);
        w.WriteNumber("rotary_emb_base", c.RopeTheta);
        w.WriteNumber("rotary_pct", c.RotaryFraction);
        w.WriteBoolean("use_parallel_residual", c.ParallelResidual);
        w.WriteString("hidden_act", c.HiddenAct ?? "gelu");
    }

    private static ModelConfig ParseBert(Fields f)
    {
        int heads = f.RequiredInt("num_attention_heads");
        string activation = f.OptionalString("hidden_act") ?? "gelu";
        if (Array.IndexOf(Gpt2Activations, activation) < 0)
            throw f.Error("hidden_act",
                $"is \"{activation}\"; BERT models here need one of {string.Join(", ", Gpt2Activations)}.");
        string positions = f.OptionalString("position_embedding_type") ?? "absolute";
        if (positions != "absolute")
            throw f.Error("position_embedding_type",
                $"is \"{positions}\"; only learned absolute positions are implemented.");
        f.Refuse("is_decoder", true, "a BERT decoder (causal attention)");
        f.Refuse("add_cross_attention", true, "cross-attention");
        return new ModelConfig
        {
            Architecture = Architecture.Bert,
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = f.RequiredInt("hidden_size"),
            NumLayers = f.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = heads,
            IntermediateSize = f.RequiredInt("intermediate_size"),
            MaxPositions = f.RequiredInt("max_position_embeddings"),
            TypeVocabSize = f.OptionalInt("type_vocab_size") ?? 2,
            NormEps = f.OptionalFloat("layer_norm_eps") ?? 1e-12f,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? true,
            PadTokenId = f.OptionalTokenId("pad_token_id"),
            HiddenAct = activation,
        };
    }

    private static ModelConfig ParseT5(Fields f)
    {
        int hidden = f.RequiredInt("d_model"), heads = f.RequiredInt("num_heads");
        if (f.OptionalInt("d_kv") is int headDim && heads > 0 && headDim * heads != hidden)
            throw f.Error("d_kv",
                $"is {headDim}, but only d_kv = d_model / num_heads ({hidden / heads}) is supported.");
        // transformers reads "gated-gelu" as gelu_new behind a gate, any other "gated-X" as X behind a gate
        string projection = f.OptionalString("feed_forward_proj") ?? "relu";
        bool gated = projection.StartsWith("gated-", StringComparison.Ordinal);
        string activation = projection == "gated-gelu" ? "gelu_new" : gated ? projection["gated-".Length..]
            : projection;
        if (Array.IndexOf(T5Activations, activation) < 0)
            throw f.Error("feed_forward_proj",
                $"is \"{projection}\"; T5 models here need relu, gelu, gelu_new or silu, gated or not.");
        f.Refuse("is_encoder_decoder", false, "a T5 stack without its decoder");
        int layers = f.RequiredInt("num_layers");
        return new ModelConfig
        {
            Architecture = Architecture.T5,
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = hidden,
            NumLayers = layers,
            DecoderLayers = f.OptionalInt("num_decoder_layers") ?? layers,
            NumHeads = heads,
            NumKvHeads = heads,
            IntermediateSize = f.RequiredInt("d_ff"),
            MaxPositions = f.OptionalInt("n_positions") ?? 512,
            NormEps = f.OptionalFloat("layer_norm_epsilon") ?? 1e-6f,
            RelativeAttentionBuckets = f.OptionalInt("relative_attention_num_buckets") ?? 32,
            RelativeAttentionMaxDistance = f.OptionalInt("relative_attention_max_distance") ?? 128,
            GatedFeedForward = gated,
            HiddenAct = activation,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? true,
            PadTokenId = f.OptionalTokenId("pad_token_id") ?? 0,
            EosTokenId = f.OptionalTokenId("eos_token_id") ?? 1,
            DecoderStartTokenId = f.OptionalTokenId("decoder_start_token_id") ?? 0,
        };
    }

    private static readonly string[] T5Activations = ["relu", "gelu", "gelu_new", "silu"];

    /// <summary>Writes a config.json for <paramref name="config"/> that transformers can load (atomically).</summary>
    public static void Write(ModelConfig config, string path)
    {
        config.Validate(path);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            switch (config.Architecture)
            {
                case Architecture.Gpt2: WriteGpt2(w, config); break;
                case Architecture.Llama: WriteLlama(w, config); break;
                case Architecture.GptNeoX: WriteGptNeoX(w, config); break;
                case Architecture.Gemma3: WriteGemma3(w, config); break;
                case Architecture.T5: WriteT5(w, config); break;
                default: WriteBert(w, config); break;
            }
            w.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            if (config.BosTokenId is int bos) w.WriteNumber("bos_token_id", bos);
            if (config.EosTokenId is int eos) w.WriteNumber("eos_token_id", eos);
            w.WriteString("torch_dtype", "float32");
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');

        string temporary = path + ".tmp";
        File.WriteAllBytes(temporary, buffer.ToArray());
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteGpt2(Utf8JsonWriter w, ModelConfig c)
    {
        WriteIdentity(w, "GPT2LMHeadModel", "gpt2");
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("n_embd", c.HiddenSize);
        w.WriteNumber("n_layer", c.NumLayers);
        w.WriteNumber("n_head", c.NumHeads);
        w.WriteNumber("n_inner", c.IntermediateSize);
        w.WriteNumber("n_positions", c.MaxPositions);
        w.WriteNumber("n_ctx", c.MaxPositions);
        w.WriteNumber("layer_norm_epsilon", c.NormEps);
        w.WriteString("activation_function", c.HiddenAct ?? "gelu_new");
    }

    private static void WriteLlama(Utf8JsonWriter w, ModelConfig c)
    {
        string modelType = c.ModelType ?? "llama";
        WriteIdentity(w, modelType switch
        {
            "qwen2" => "Qwen2ForCausalLM", "qwen3" => "Qwen3ForCausalLM", "phi3" => "Phi3ForCausalLM",
            _ => "LlamaForCausalLM",
        }, modelType);
        if (c.HeadDimension is int headDim) w.WriteNumber("head_dim", headDim);
        WriteRopeScaling(w, c);
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("hidden_size", c.HiddenSize);
        w.WriteNumber("num_hidden_layers", c.NumLayers);
        w.WriteNumber("num_attention_heads", c.NumHeads);
        w.WriteNumber("num_key_value_heads", c.KvHeads);
        w.WriteNumber("intermediate_size", c.IntermediateSize);
        w.WriteNumber("max_position_embeddings", c.MaxPositions);
        w.WriteNumber("rms_norm_eps", c.NormEps);
        w.WriteNumber("rope_theta", c.RopeTheta);
        w.WriteString("hidden_act", c.HiddenAct ?? "silu");
        if (c.RotaryPairing == RotaryPairing.Interleaved) w.WriteString(RotaryPairingKey, "interleaved");
    }

    private static void WriteBert(Utf8JsonWriter w, ModelConfig c)
    {
        WriteIdentity(w, "BertForMaskedLM", "bert");
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("hidden_size", c.HiddenSize);
        w.WriteNumber("num_hidden_layers", c.NumLayers);
        w.WriteNumber("num_attention_heads", c.NumHeads);
        w.WriteNumber("intermediate_size", c.IntermediateSize);
        w.WriteNumber("max_position_embeddings", c.MaxPositions);
        w.WriteNumber("type_vocab_size", c.TypeVocabSize);
        w.WriteNumber("layer_norm_eps", c.NormEps);
        w.WriteString("hidden_act", c.HiddenAct ?? "gelu");
        w.WriteString("position_embedding_type", "absolute");
        if (c.PadTokenId is int pad) w.WriteNumber("pad_token_id", pad);
    }

    private static void WriteT5(Utf8JsonWriter w, ModelConfig c)
    {
        WriteIdentity(w, "T5ForConditionalGeneration", "t5");
        w.WriteBoolean("is_encoder_decoder", true);
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("d_model", c.HiddenSize);
        w.WriteNumber("d_kv", c.HeadDim);
        w.WriteNumber("d_ff", c.IntermediateSize);
        w.WriteNumber("num_layers", c.NumLayers);
        w.WriteNumber("num_decoder_layers", c.DecoderLayers);
        w.WriteNumber("num_heads", c.NumHeads);
        w.WriteNumber("relative_attention_num_buckets", c.RelativeAttentionBuckets);
        w.WriteNumber("relative_attention_max_distance", c.RelativeAttentionMaxDistance);
        w.WriteNumber("layer_norm_epsilon", c.NormEps);
        string activation = c.HiddenAct ?? "relu";
        w.WriteString("feed_forward_proj", !c.GatedFeedForward ? activation : activation == "gelu_new" ? "gated-gelu"
            : "gated-" + activation);
        w.WriteNumber("pad_token_id", c.PadTokenId ?? 0);
        w.WriteNumber("decoder_start_token_id", c.DecoderStartTokenId ?? 0);
        w.WriteNumber("n_positions", c.MaxPositions);
    }

    /// <summary>Typed access to config fields, with errors naming the file and the field.</summary>
    private readonly struct Fields(JsonElement root, string path, string prefix = "")
    {
        public ModelFormatException Error(string field, string problem) =>
            new(path, $"field \"{prefix}{field}\" {problem}");

        /// <summary>Present and not null (HF writes null for "use the default").</summary>
        public bool Has(string field) => root.TryGetProperty(field, out var value)
            && value.ValueKind != JsonValueKind.Null;

        private JsonElement? Get(string field) => Has(field) ? root.GetProperty(field) : null;

        /// <summary>A list of strings (layer_types); null when absent.</summary>
        public IReadOnlyList<string>? StringList(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            if (value.ValueKind != JsonValueKind.Array) throw WrongType(field, value, "a list of strings");
            var items = new List<string>();
            foreach (var item in value.EnumerateArray())
                items.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw WrongType(field, item,
                    "a list of strings"));
            return items;
        }

        /// <summary>The fields of a nested object (rope_scaling), errors naming it as "outer.inner"; null when
        /// absent.</summary>
        public Fields? Object(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            if (value.ValueKind != JsonValueKind.Object) throw WrongType(field, value, "an object");
            return new Fields(value, path, field + ".");
        }

        private ModelFormatException WrongType(string field, JsonElement value, string expected)
            => Error(field, $"must be {expected}, but it is {JsonFile.Describe(value)} ({Clip(value.GetRawText())}).");

        public int RequiredInt(string field) => OptionalInt(field) ?? throw Error(field, "is missing.");

        public int? OptionalInt(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
                throw WrongType(field, value, "a whole number");
            return result;
        }

        public float? OptionalFloat(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            if (value.ValueKind != JsonValueKind.Number) throw WrongType(field, value, "a number");
            double result = value.GetDouble();
            if (!double.IsFinite(result) || Math.Abs(result) > float.MaxValue)
                throw Error(field, $"is {result}, out of range.");
            return (float)result;
        }

        public bool? OptionalBool(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw WrongType(field, value, "true or false"),
            };
        }

        public string RequiredString(string field) => OptionalString(field) ?? throw Error(field, "is missing.");

        public string? OptionalString(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw WrongType(field, value,
                "a string");
        }

        /// <summary>A token id, or the first of a list of them (newer configs list several end-of-sequence
        /// tokens).</summary>
        public int? OptionalTokenId(string field)
        {
            if (Get(field) is not JsonElement value) return null;
            if (value.ValueKind == JsonValueKind.Array)
            {
                if (value.GetArrayLength() == 0) return null;
                value = value[0];
            }
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int id) || id < 0)
                throw WrongType(field, value, "a non-negative token id");
            return id;
        }

        /// <summary>Fails when an optional flag is set to the one value whose behaviour we do not implement.</summary>
        public void Refuse(string field, bool unsupported, string feature)
        {
            if (OptionalBool(field) == unsupported)
                throw Error(field,
                    $"is {(unsupported ? "true" : "false")}, asking for {feature}, which is not implemented.");
        }

        private static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";
    }
}
