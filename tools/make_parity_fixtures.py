#!/usr/bin/python3
"""Writes the PyTorch parity fixtures the C# tests compare against (tests/fixtures/parity/).

For a tiny random GPT-2, a tiny random LLaMA (grouped-query attention, untied head), a tiny random BERT (MLM head,
padding mask, two token types) and two tiny random T5s (v1.0: ReLU MLP, tied head; v1.1: gated-GELU MLP, untied head,
a deeper decoder; padded encoder rows, relative offsets past the buckets' max distance), it writes each model as a Hugging Face directory (config.json + model.safetensors,
written by hand below) and, for one fixed batch, the logits, the mean cross-entropy loss (next token, or masked
tokens for BERT), the gradient w.r.t. the input embeddings and every weight gradient, into expected.safetensors. The
reference is computed in float64 and stored as float32.

The models are written out in plain torch (Debian's python3-torch; the transformers package is not available here),
following Hugging Face's GPT2LMHeadModel, LlamaForCausalLM, BertForMaskedLM and T5ForConditionalGeneration equations: GPT-2's Conv1D weights are
stored [in, out], LLaMA's rotary embedding uses the rotate_half pairing, BERT's MLM decoder is tied to the word
embeddings and has its own bias (saved as cls.predictions.bias, the decoder weight left out as transformers does).

Run:  sudo apt-get install -y python3-torch && /usr/bin/python3 tools/make_parity_fixtures.py [case names to write]
Every case is computed in a fixed order from one seed, so writing only some leaves the others' fixtures valid.
"""
import json
import math
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity")


def write_safetensors(path, tensors, metadata=None):
    """safetensors: u64 little-endian header length, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def random_params(gen, shapes, is_gain):
    """Every tensor of shapes, in order, from one generator: gains around 1 (1 + 0.1·N(0, 1)), the rest 0.2·N(0, 1)."""
    return {n: (1.0 + 0.1 * torch.randn(s, generator=gen, dtype=torch.float64)) if is_gain(n)
            else 0.2 * torch.randn(s, generator=gen, dtype=torch.float64) for n, s in shapes.items()}


def causal_attention(q, k, v):
    # q (B, H, T, d); k, v (B, H, T, d)
    t = q.shape[-2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def gpt2_forward(p, cfg, embeds, positions):
    d, heads, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    b, t, _ = embeds.shape
    h = embeds + p["wpe.weight"][positions]
    for i in range(cfg["n_layer"]):
        w = lambda n: p[f"h.{i}.{n}"]
        a = torch.nn.functional.layer_norm(h, (d,), w("ln_1.weight"), w("ln_1.bias"), eps)
        qkv = a @ w("attn.c_attn.weight") + w("attn.c_attn.bias")
        q, k, v = (x.view(b, t, heads, d // heads).transpose(1, 2) for x in qkv.split(d, dim=-1))
        y = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, d)
        h = h + y @ w("attn.c_proj.weight") + w("attn.c_proj.bias")
        m = torch.nn.functional.layer_norm(h, (d,), w("ln_2.weight"), w("ln_2.bias"), eps)
        m = gelu_new(m @ w("mlp.c_fc.weight") + w("mlp.c_fc.bias"))
        h = h + m @ w("mlp.c_proj.weight") + w("mlp.c_proj.bias")
    h = torch.nn.functional.layer_norm(h, (d,), p["ln_f.weight"], p["ln_f.bias"], eps)
    return h @ p["wte.weight"].t()


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama3_scaled(inv_freq, scaling):
    """Llama 3.1's rope_scaling (rope_type "llama3"), as its model card's reference code states it: frequencies
    whose wavelength exceeds original/low_freq_factor are divided by factor, those below original/high_freq_factor
    kept, and those between blended linearly in original/wavelength."""
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    original = scaling["original_max_position_embeddings"]
    out = []
    for f in inv_freq.tolist():
        wavelength = 2 * math.pi / f
        if wavelength < original / high:
            out.append(f)
        elif wavelength > original / low:
            out.append(f / factor)
        else:
            smooth = (original / wavelength - low) / (high - low)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=torch.float64)


def llama_forward(p, cfg, embeds, positions):
    """LlamaForCausalLM; with q/k/v biases it is Qwen2ForCausalLM, with q_norm/k_norm and its own head_dim Qwen3's."""
    d, heads, kv_heads = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps, theta = cfg.get("head_dim", d // heads), cfg["rms_norm_eps"], cfg["rope_theta"]
    b, t, _ = embeds.shape
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    if cfg.get("rope_scaling"):
        inv_freq = llama3_scaled(inv_freq, cfg["rope_scaling"])
    freqs = positions.to(torch.float64)[..., None] * inv_freq  # (B, T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)[:, None, :, :]      # (B, 1, T, hd)
    cos, sin = emb.cos(), emb.sin()
    h = embeds
    for i in range(cfg["num_hidden_layers"]):
        w = lambda n: p[f"model.layers.{i}.{n}"]
        has = lambda n: f"model.layers.{i}.{n}" in p

        def project(x, n, n_heads):  # (B, T, D) -> (B, heads, T, hd): bias (Qwen2), then per-head RMSNorm (Qwen3)
            y = x @ w(f"self_attn.{n}_proj.weight").t()
            if has(f"self_attn.{n}_proj.bias"):
                y = y + w(f"self_attn.{n}_proj.bias")
            y = y.view(b, t, n_heads, hd)
            if has(f"self_attn.{n}_norm.weight"):
                y = rms_norm(y, w(f"self_attn.{n}_norm.weight"), eps)
            return y.transpose(1, 2)

        a = rms_norm(h, w("input_layernorm.weight"), eps)
        if has("self_attn.qkv_proj.weight"):  # Phi-3: one matrix, rows q then k then v
            q, k, v = (a @ w("self_attn.qkv_proj.weight").t()).split([heads * hd, kv_heads * hd, kv_heads * hd], dim=-1)
            q, k, v = (x.view(b, t, n, hd).transpose(1, 2) for x, n in ((q, heads), (k, kv_heads), (v, kv_heads)))
        else:
            q, k, v = project(a, "q", heads), project(a, "k", kv_heads), project(a, "v", kv_heads)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        y = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, heads * hd)
        h = h + y @ w("self_attn.o_proj.weight").t()
        m = rms_norm(h, w("post_attention_layernorm.weight"), eps)
        if has("mlp.gate_up_proj.weight"):  # Phi-3: gate rows first, then up
            gate, up = (m @ w("mlp.gate_up_proj.weight").t()).chunk(2, dim=-1)
        else:
            gate, up = m @ w("mlp.gate_proj.weight").t(), m @ w("mlp.up_proj.weight").t()
        m = torch.nn.functional.silu(gate) * up
        h = h + m @ w("mlp.down_proj.weight").t()
    h = rms_norm(h, p["model.norm.weight"], eps)
    return h @ p["lm_head.weight"].t()


def gpt_neox_forward(p, cfg, embeds, positions):
    """GPTNeoXForCausalLM: the fused query_key_value output viewed as (B, T, heads, 3·hd) and chunked into q, k, v;
    rotate_half rotary embeddings on each head's first int(hd · rotary_pct) dims (frequencies over those dims);
    parallel residual h + attn(ln1(h)) + mlp(ln2(h)); exact-erf GELU; untied embed_out."""
    d, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = d // heads
    rot = int(hd * cfg["rotary_pct"])
    b, t, _ = embeds.shape
    inv_freq = 1.0 / (cfg["rotary_emb_base"] ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
    freqs = positions.to(torch.float64)[..., None] * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)[:, None, :, :]
    cos, sin = emb.cos(), emb.sin()

    def rotate(x):
        turned, kept = x[..., :rot], x[..., rot:]
        return torch.cat((turned * cos + rotate_half(turned) * sin, kept), dim=-1)

    def layer_norm(x, prefix):
        return torch.nn.functional.layer_norm(x, (d,), p[prefix + ".weight"], p[prefix + ".bias"], eps)

    def linear(x, prefix):
        return x @ p[prefix + ".weight"].t() + p[prefix + ".bias"]

    h = embeds
    for i in range(cfg["num_hidden_layers"]):
        l = f"gpt_neox.layers.{i}."
        qkv = linear(layer_norm(h, l + "input_layernorm"), l + "attention.query_key_value").view(b, t, heads, 3 * hd).transpose(1, 2)
        q, k, v = qkv.chunk(3, dim=-1)
        y = causal_attention(rotate(q), rotate(k), v).transpose(1, 2).reshape(b, t, d)
        attn = linear(y, l + "attention.dense")
        mlp_in = h if cfg["use_parallel_residual"] else h + attn
        m = linear(layer_norm(mlp_in, l + "post_attention_layernorm"), l + "mlp.dense_h_to_4h")
        m = linear(torch.nn.functional.gelu(m), l + "mlp.dense_4h_to_h")
        h = h + attn + m if cfg["use_parallel_residual"] else mlp_in + m
    h = torch.nn.functional.layer_norm(h, (d,), p["gpt_neox.final_layer_norm.weight"], p["gpt_neox.final_layer_norm.bias"], eps)
    return h @ p["embed_out.weight"].t()


def gemma3_forward(p, cfg, embeds, positions):
    """Gemma3ForCausalLM (text): embeddings × √D; RMSNorm gains (1 + w) before and after each sublayer and on each
    head's q and k; scores × query_pre_attn_scalar^-½; rotary base rope_local_base_freq on sliding layers and rope_theta
    (with rope_scaling) on full ones; down(gelu_tanh(gate) · up); tied head. The sequence is shorter than the window,
    so sliding layers attend to every earlier position."""
    d, heads, kv_heads, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    b, t, _ = embeds.shape

    def norm(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + weight)

    def rotary(theta, scaling):
        inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        if scaling:
            inv_freq = inv_freq / scaling["factor"]  # linear
        freqs = positions.to(torch.float64)[..., None] * inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)[:, None, :, :]
        return emb.cos(), emb.sin()

    tables = {"sliding_attention": rotary(cfg["rope_local_base_freq"], None),
              "full_attention": rotary(cfg["rope_theta"], cfg.get("rope_scaling"))}
    h = embeds * math.sqrt(d)
    for i in range(cfg["num_hidden_layers"]):
        w = lambda n: p[f"model.layers.{i}.{n}"]
        cos, sin = tables[cfg["layer_types"][i]]
        a = norm(h, w("input_layernorm.weight"))
        q = norm((a @ w("self_attn.q_proj.weight").t()).view(b, t, heads, hd), w("self_attn.q_norm.weight")).transpose(1, 2)
        k = norm((a @ w("self_attn.k_proj.weight").t()).view(b, t, kv_heads, hd), w("self_attn.k_norm.weight")).transpose(1, 2)
        v = (a @ w("self_attn.v_proj.weight").t()).view(b, t, kv_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = q @ k.transpose(-1, -2) * cfg["query_pre_attn_scalar"] ** -0.5
        scores = scores.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
        y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, heads * hd)
        h = h + norm(y @ w("self_attn.o_proj.weight").t(), w("post_attention_layernorm.weight"))
        m = norm(h, w("pre_feedforward_layernorm.weight"))
        m = gelu_new(m @ w("mlp.gate_proj.weight").t()) * (m @ w("mlp.up_proj.weight").t())
        h = h + norm(m @ w("mlp.down_proj.weight").t(), w("post_feedforward_layernorm.weight"))
    h = norm(h, p["model.norm.weight"])
    return h @ p["model.embed_tokens.weight"].t()


def bert_forward(p, cfg, embeds, positions, token_types, attention_mask):
    d, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = d // heads
    b, t, _ = embeds.shape
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (d,), p[n + ".weight"], p[n + ".bias"], eps)
    linear = lambda x, n: x @ p[n + ".weight"].t() + p[n + ".bias"]
    e = "bert.embeddings."
    h = embeds + p[e + "position_embeddings.weight"][positions] + p[e + "token_type_embeddings.weight"][token_types]
    h = ln(h, e + "LayerNorm")
    for i in range(cfg["num_hidden_layers"]):
        l = f"bert.encoder.layer.{i}."
        q, k, v = (linear(h, l + "attention.self." + n).view(b, t, heads, hd).transpose(1, 2) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        scores = scores.masked_fill(~attention_mask[:, None, None, :], float("-inf"))
        y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        h = ln(h + linear(y, l + "attention.output.dense"), l + "attention.output.LayerNorm")
        m = torch.nn.functional.gelu(linear(h, l + "intermediate.dense"))  # exact erf form, HF's "gelu"
        h = ln(h + linear(m, l + "output.dense"), l + "output.LayerNorm")
    c = "cls.predictions."
    x = ln(torch.nn.functional.gelu(linear(h, c + "transform.dense")), c + "transform.LayerNorm")
    return x @ p[e + "word_embeddings.weight"].t() + p[c + "bias"]


def t5_bucket(relative, bidirectional, num_buckets, max_distance):
    """transformers' T5Attention._relative_position_bucket, float32 logarithm included."""
    bucket = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        bucket += (relative > 0).to(torch.long) * num_buckets
        relative = relative.abs()
    else:
        relative = -torch.min(relative, torch.zeros_like(relative))
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(relative.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return bucket + torch.where(relative < max_exact, relative, large)


def t5_position_bias(table, length, bidirectional, cfg):
    relative = torch.arange(length)[None, :] - torch.arange(length)[:, None]  # key - query
    buckets = t5_bucket(relative, bidirectional, cfg["relative_attention_num_buckets"], cfg["relative_attention_max_distance"])
    return table[buckets].permute(2, 0, 1)  # (H, T, S)


def t5_forward(p, cfg, encoder_embeds, encoder_mask, decoder_ids):
    """T5ForConditionalGeneration: pre-RMS-norm blocks, unscaled attention plus a relative-position bias from each
    stack's first block, cross-attention in the decoder, ReLU or gated-GELU MLP, d^-1/2 before a tied head."""
    d, heads, eps = cfg["d_model"], cfg["num_heads"], cfg["layer_norm_epsilon"]
    hd = cfg["d_kv"]
    gated = cfg["feed_forward_proj"].startswith("gated-")

    def attention(prefix, x, memory, bias, visible):
        b, t, s = x.shape[0], x.shape[1], memory.shape[1]
        q = (x @ p[prefix + "q.weight"].t()).view(b, t, heads, hd).transpose(1, 2)
        k = (memory @ p[prefix + "k.weight"].t()).view(b, s, heads, hd).transpose(1, 2)
        v = (memory @ p[prefix + "v.weight"].t()).view(b, s, heads, hd).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if bias is not None:
            scores = scores + bias[None]
        scores = scores.masked_fill(~visible[:, None], float("-inf"))
        y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, heads * hd)
        return y @ p[prefix + "o.weight"].t()

    def feed_forward(prefix, x):
        if gated:
            m = gelu_new(x @ p[prefix + "wi_0.weight"].t()) * (x @ p[prefix + "wi_1.weight"].t())
        else:
            m = torch.relu(x @ p[prefix + "wi.weight"].t())
        return m @ p[prefix + "wo.weight"].t()

    b, s, _ = encoder_embeds.shape
    t = decoder_ids.shape[1]
    bias = t5_position_bias(p["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], s, True, cfg)
    visible = encoder_mask[:, None, :].expand(b, s, s)
    h = encoder_embeds
    for i in range(cfg["num_layers"]):
        l = f"encoder.block.{i}.layer."
        h = h + attention(l + "0.SelfAttention.", rms_norm(h, p[l + "0.layer_norm.weight"], eps), rms_norm(h, p[l + "0.layer_norm.weight"], eps), bias, visible)
        h = h + feed_forward(l + "1.DenseReluDense.", rms_norm(h, p[l + "1.layer_norm.weight"], eps))
    encoded = rms_norm(h, p["encoder.final_layer_norm.weight"], eps)

    bias = t5_position_bias(p["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], t, False, cfg)
    causal = torch.ones(t, t, dtype=torch.bool).tril()[None].expand(b, t, t)
    cross_visible = encoder_mask[:, None, :].expand(b, t, s)
    h = p["shared.weight"][decoder_ids]
    for i in range(cfg["num_decoder_layers"]):
        l = f"decoder.block.{i}.layer."
        a = rms_norm(h, p[l + "0.layer_norm.weight"], eps)
        h = h + attention(l + "0.SelfAttention.", a, a, bias, causal)
        h = h + attention(l + "1.EncDecAttention.", rms_norm(h, p[l + "1.layer_norm.weight"], eps), encoded, None, cross_visible)
        h = h + feed_forward(l + "2.DenseReluDense.", rms_norm(h, p[l + "2.layer_norm.weight"], eps))
    h = rms_norm(h, p["decoder.final_layer_norm.weight"], eps)
    if cfg["tie_word_embeddings"]:
        return (h * d ** -0.5) @ p["shared.weight"].t()
    return h @ p["lm_head.weight"].t()


def t5_case(gen, name, feed_forward_proj, tie, decoder_layers):
    cfg = {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "is_encoder_decoder": True,
           "vocab_size": 61, "d_model": 32, "d_kv": 8, "num_heads": 4, "d_ff": 48, "num_layers": 2,
           "num_decoder_layers": decoder_layers, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 12,
           "layer_norm_epsilon": 1e-6, "feed_forward_proj": feed_forward_proj, "tie_word_embeddings": tie,
           "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0}
    d, f, v, buckets, heads = cfg["d_model"], cfg["d_ff"], cfg["vocab_size"], 8, cfg["num_heads"]
    mlp = {"wi_0.weight": (f, d), "wi_1.weight": (f, d), "wo.weight": (d, f)} if feed_forward_proj.startswith("gated-") \
        else {"wi.weight": (f, d), "wo.weight": (d, f)}
    shapes = {"shared.weight": (v, d)}
    for stack, layers, mlp_slot in (("encoder", cfg["num_layers"], 1), ("decoder", decoder_layers, 2)):
        for i in range(layers):
            l = f"{stack}.block.{i}.layer."
            attentions = ["0.SelfAttention."] + (["1.EncDecAttention."] if stack == "decoder" else [])
            for a in attentions:
                for n in ("q", "k", "v", "o"):
                    shapes[l + a + n + ".weight"] = (d, d)
            for slot in range(mlp_slot + 1):
                shapes[l + f"{slot}.layer_norm.weight"] = (d,)
            for n, s in mlp.items():
                shapes[l + f"{mlp_slot}.DenseReluDense." + n] = s
        shapes[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (buckets, heads)
        shapes[f"{stack}.final_layer_norm.weight"] = (d,)
    if not tie:
        shapes["lm_head.weight"] = (v, d)
    params = {}
    for n, s in shapes.items():
        scale = 1.0 if n in ("shared.weight", "lm_head.weight") else 0.3
        params[n] = (1.0 + 0.1 * torch.randn(s, generator=gen, dtype=torch.float64)) if n.endswith("layer_norm.weight") \
            else scale * torch.randn(s, generator=gen, dtype=torch.float64)
    return name, cfg, params


def write_t5_case(gen, name, feed_forward_proj, tie, decoder_layers, write=True):
    """Encoder rows of 13 tokens (row 1 padded after 10, so relative offsets reach past max_distance and the padding
    mask matters), decoder rows of 7 (row 1's last two targets ignored, as right padding would be)."""
    name, cfg, params = t5_case(gen, name, feed_forward_proj, tie, decoder_layers)
    vocab, batch, source, target = cfg["vocab_size"], 2, 13, 7
    ids = torch.randint(2, vocab, (batch, source), generator=gen)
    mask = torch.ones(batch, source, dtype=torch.bool)
    mask[1, 10:] = False
    ids[1, 10:] = 0
    targets = torch.randint(2, vocab, (batch, target), generator=gen)
    targets[1, -2:] = -100
    decoder_ids = torch.cat([torch.zeros(batch, 1, dtype=torch.long), targets[:, :-1].clamp(min=0)], dim=1)
    for t in params.values():
        t.requires_grad_(True)
    embeds = params["shared.weight"][ids].detach().clone().requires_grad_(True)
    logits = t5_forward(params, cfg, embeds, mask, decoder_ids)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    full_embed_grad = params["shared.weight"].grad.clone()
    full_embed_grad.index_add_(0, ids.reshape(-1), embeds.grad.reshape(-1, embeds.shape[-1]))
    if not write:
        return

    directory = os.path.join(OUT, name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(directory, "model.safetensors"), params, {"format": "pt"})
    expected = {"input_ids": ids.to(torch.float64), "attention_mask": mask.to(torch.float64),
                "targets": targets.to(torch.float64), "logits": logits, "loss": loss.reshape(1),
                "grad.inputs_embeds": embeds.grad}
    for n, t in params.items():
        expected["grad." + n] = full_embed_grad if n == "shared.weight" else t.grad
    write_safetensors(os.path.join(directory, "expected.safetensors"), expected,
                      {"generator": "tools/make_parity_fixtures.py", "torch": torch.__version__})
    print(f"{name}: loss {loss.item():.6f}, {len(params)} parameters -> {directory}")


def gpt2_case(gen):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 97, "n_embd": 32, "n_layer": 2,
           "n_head": 4, "n_positions": 24, "n_ctx": 24, "n_inner": None, "activation_function": "gelu_new",
           "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "bos_token_id": 96, "eos_token_id": 96}
    d, f, v = cfg["n_embd"], 4 * cfg["n_embd"], cfg["vocab_size"]
    shapes = {"wte.weight": (v, d), "wpe.weight": (cfg["n_positions"], d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for i in range(cfg["n_layer"]):
        for n, s in {"ln_1.weight": (d,), "ln_1.bias": (d,), "attn.c_attn.weight": (d, 3 * d), "attn.c_attn.bias": (3 * d,),
                     "attn.c_proj.weight": (d, d), "attn.c_proj.bias": (d,), "ln_2.weight": (d,), "ln_2.bias": (d,),
                     "mlp.c_fc.weight": (d, f), "mlp.c_fc.bias": (f,), "mlp.c_proj.weight": (f, d), "mlp.c_proj.bias": (d,)}.items():
            shapes[f"h.{i}.{n}"] = s
    params = random_params(gen, shapes, lambda n: n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n == "ln_f.weight")
    return "gpt2-tiny", cfg, params, lambda p, e, pos: gpt2_forward(p, cfg, e, pos), "wte.weight"


def llama_case(gen):
    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 89, "hidden_size": 32,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 48,
           "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2}
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * d // cfg["num_attention_heads"]
    shapes = {"model.embed_tokens.weight": (v, d), "model.norm.weight": (d,), "lm_head.weight": (v, d)}
    for i in range(cfg["num_hidden_layers"]):
        for n, s in {"input_layernorm.weight": (d,), "self_attn.q_proj.weight": (d, d), "self_attn.k_proj.weight": (kv, d),
                     "self_attn.v_proj.weight": (kv, d), "self_attn.o_proj.weight": (d, d),
                     "post_attention_layernorm.weight": (d,), "mlp.gate_proj.weight": (f, d),
                     "mlp.up_proj.weight": (f, d), "mlp.down_proj.weight": (d, f)}.items():
            shapes[f"model.layers.{i}.{n}"] = s
    params = random_params(gen, shapes, lambda n: n.endswith("norm.weight"))
    return "llama-tiny", cfg, params, lambda p, e, pos: llama_forward(p, cfg, e, pos), "model.embed_tokens.weight"


def qwen_case(gen, model_type):
    """Qwen2: LLaMA with q/k/v biases. Qwen3: LLaMA with per-head q/k RMSNorm and head_dim 12 ≠ hidden 32 / 4 heads."""
    cfg = {"model_type": model_type, "architectures": [model_type.capitalize() + "ForCausalLM"], "vocab_size": 91,
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "intermediate_size": 40, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
           "tie_word_embeddings": False, "hidden_act": "silu", "use_sliding_window": False, "bos_token_id": 1, "eos_token_id": 2}
    if model_type == "qwen3":
        cfg.update({"head_dim": 12, "attention_bias": False})
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = cfg.get("head_dim", d // cfg["num_attention_heads"])
    qw, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    shapes = {"model.embed_tokens.weight": (v, d), "model.norm.weight": (d,), "lm_head.weight": (v, d)}
    for i in range(cfg["num_hidden_layers"]):
        layer = {"input_layernorm.weight": (d,), "self_attn.q_proj.weight": (qw, d), "self_attn.k_proj.weight": (kv, d),
                 "self_attn.v_proj.weight": (kv, d), "self_attn.o_proj.weight": (d, qw),
                 "post_attention_layernorm.weight": (d,), "mlp.gate_proj.weight": (f, d),
                 "mlp.up_proj.weight": (f, d), "mlp.down_proj.weight": (d, f)}
        if model_type == "qwen2":
            layer.update({"self_attn.q_proj.bias": (qw,), "self_attn.k_proj.bias": (kv,), "self_attn.v_proj.bias": (kv,)})
        else:
            layer.update({"self_attn.q_norm.weight": (hd,), "self_attn.k_norm.weight": (hd,)})
        for n, s in layer.items():
            shapes[f"model.layers.{i}.{n}"] = s
    params = random_params(gen, shapes, lambda n: n.endswith("norm.weight"))
    return f"{model_type}-tiny", cfg, params, lambda p, e, pos: llama_forward(p, cfg, e, pos), "model.embed_tokens.weight"


def llama3_case(gen):
    """Llama 3.x: LLaMA with rope_scaling "llama3". With theta 10^4 the tiny head's wavelengths are 6.3, 63, 628 and
    6283 positions; original 64 with factors 1 and 8 keeps the first, blends the second and divides the others."""
    name, cfg, params, _, embed = qwen_case(gen, "qwen2")  # the same shapes, then the LLaMA names and no biases
    cfg = {k: v for k, v in cfg.items() if k != "use_sliding_window"}
    cfg.update({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "rope_theta": 10000.0,
                "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 8.0,
                                 "original_max_position_embeddings": 64}})
    params = {n: t for n, t in params.items() if not n.endswith("_proj.bias")}
    return "llama3-tiny", cfg, params, lambda p, e, pos: llama_forward(p, cfg, e, pos), embed


def gpt_neox_case(gen, parallel):
    """Pythia-shaped: 4 heads of 8 dims, rotary_pct 0.5 (4 of 8 dims turned), biases everywhere, untied embed_out."""
    cfg = {"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "vocab_size": 97, "hidden_size": 32,
           "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64,
           "rotary_pct": 0.5, "rotary_emb_base": 10000, "layer_norm_eps": 1e-5, "use_parallel_residual": parallel,
           "hidden_act": "gelu", "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    shapes = {"gpt_neox.embed_in.weight": (v, d), "gpt_neox.final_layer_norm.weight": (d,),
              "gpt_neox.final_layer_norm.bias": (d,), "embed_out.weight": (v, d)}
    for i in range(cfg["num_hidden_layers"]):
        l = f"gpt_neox.layers.{i}."
        for n, s in {"input_layernorm.weight": (d,), "input_layernorm.bias": (d,), "post_attention_layernorm.weight": (d,),
                     "post_attention_layernorm.bias": (d,), "attention.query_key_value.weight": (3 * d, d),
                     "attention.query_key_value.bias": (3 * d,), "attention.dense.weight": (d, d), "attention.dense.bias": (d,),
                     "mlp.dense_h_to_4h.weight": (f, d), "mlp.dense_h_to_4h.bias": (f,),
                     "mlp.dense_4h_to_h.weight": (d, f), "mlp.dense_4h_to_h.bias": (d,)}.items():
            shapes[l + n] = s
    params = random_params(gen, shapes, lambda n: n.endswith("norm.weight"))
    name = "pythia-tiny" if parallel else "gpt-neox-sequential-tiny"
    return name, cfg, params, lambda p, e, pos: gpt_neox_forward(p, cfg, e, pos), "gpt_neox.embed_in.weight"


def phi3_case(gen):
    """Phi-3: LLaMA with q/k/v in one qkv_proj and gate/up in one gate_up_proj (grouped-query heads here too)."""
    name, cfg, params, _, embed = qwen_case(gen, "qwen2")
    cfg = {k: v for k, v in cfg.items() if k != "use_sliding_window"}
    cfg.update({"model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "rope_theta": 10000.0, "sliding_window": 2047,
                "partial_rotary_factor": 1.0})
    fused = {}
    for n, t in params.items():
        if n.endswith("_proj.bias") or n.endswith("k_proj.weight") or n.endswith("v_proj.weight") or n.endswith("up_proj.weight"):
            continue
        if n.endswith("q_proj.weight"):
            prefix = n[: -len("q_proj.weight")]
            fused[prefix + "qkv_proj.weight"] = torch.cat([t, params[prefix + "k_proj.weight"], params[prefix + "v_proj.weight"]])
        elif n.endswith("gate_proj.weight"):
            prefix = n[: -len("gate_proj.weight")]
            fused[prefix + "gate_up_proj.weight"] = torch.cat([t, params[prefix + "up_proj.weight"]])
        else:
            fused[n] = t
    return "phi3-tiny", cfg, fused, lambda p, e, pos: llama_forward(p, cfg, e, pos), embed


def gemma3_case(gen):
    """Gemma 3 text: 4 heads of 12 dims over width 32 (1 kv head), three layers (sliding, sliding, full),
    query_pre_attn_scalar 16, linear rope scaling on the full layer; norm weights near 0 (gain 1 + w)."""
    cfg = {"model_type": "gemma3_text", "architectures": ["Gemma3ForCausalLM"], "vocab_size": 83, "hidden_size": 32,
           "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 12,
           "intermediate_size": 40, "max_position_embeddings": 128, "sliding_window": 16,
           "layer_types": ["sliding_attention", "sliding_attention", "full_attention"], "rms_norm_eps": 1e-6,
           "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 4.0},
           "query_pre_attn_scalar": 16, "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": True,
           "attn_logit_softcapping": None, "final_logit_softcapping": None, "bos_token_id": 2, "eos_token_id": 1}
    d, f, v, hd = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["head_dim"]
    qw, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    shapes = {"model.embed_tokens.weight": (v, d), "model.norm.weight": (d,)}
    for i in range(cfg["num_hidden_layers"]):
        for n, s in {"input_layernorm.weight": (d,), "post_attention_layernorm.weight": (d,),
                     "pre_feedforward_layernorm.weight": (d,), "post_feedforward_layernorm.weight": (d,),
                     "self_attn.q_proj.weight": (qw, d), "self_attn.k_proj.weight": (kv, d), "self_attn.v_proj.weight": (kv, d),
                     "self_attn.o_proj.weight": (d, qw), "self_attn.q_norm.weight": (hd,), "self_attn.k_norm.weight": (hd,),
                     "mlp.gate_proj.weight": (f, d), "mlp.up_proj.weight": (f, d), "mlp.down_proj.weight": (d, f)}.items():
            shapes[f"model.layers.{i}.{n}"] = s
    params = {n: (0.1 if n.endswith("norm.weight") else 0.2) * torch.randn(s, generator=gen, dtype=torch.float64)
              for n, s in shapes.items()}
    return "gemma3-tiny", cfg, params, lambda p, e, pos: gemma3_forward(p, cfg, e, pos), "model.embed_tokens.weight"


def bert_case(gen):
    cfg = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "vocab_size": 83, "hidden_size": 32,
           "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 56, "hidden_act": "gelu",
           "max_position_embeddings": 24, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
           "position_embedding_type": "absolute", "tie_word_embeddings": True}
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    e = "bert.embeddings."
    shapes = {e + "word_embeddings.weight": (v, d), e + "position_embeddings.weight": (cfg["max_position_embeddings"], d),
              e + "token_type_embeddings.weight": (cfg["type_vocab_size"], d), e + "LayerNorm.weight": (d,), e + "LayerNorm.bias": (d,)}
    for i in range(cfg["num_hidden_layers"]):
        l = f"bert.encoder.layer.{i}."
        for n in ("query", "key", "value"):
            shapes[l + f"attention.self.{n}.weight"], shapes[l + f"attention.self.{n}.bias"] = (d, d), (d,)
        for n, s in {"attention.output.dense.weight": (d, d), "attention.output.dense.bias": (d,),
                     "attention.output.LayerNorm.weight": (d,), "attention.output.LayerNorm.bias": (d,),
                     "intermediate.dense.weight": (f, d), "intermediate.dense.bias": (f,),
                     "output.dense.weight": (d, f), "output.dense.bias": (d,),
                     "output.LayerNorm.weight": (d,), "output.LayerNorm.bias": (d,)}.items():
            shapes[l + n] = s
    c = "cls.predictions."
    shapes.update({c + "transform.dense.weight": (d, d), c + "transform.dense.bias": (d,),
                   c + "transform.LayerNorm.weight": (d,), c + "transform.LayerNorm.bias": (d,), c + "bias": (v,)})
    params = random_params(gen, shapes, lambda n: n.endswith("LayerNorm.weight"))
    return "bert-tiny", cfg, params, bert_forward, e + "word_embeddings.weight"


def causal_batch(gen, vocab, batch, length):
    ids = torch.randint(0, vocab, (batch, length), generator=gen)
    targets = torch.randint(0, vocab, (batch, length), generator=gen)
    targets[0, :2] = -100  # ignored positions, as a prompt or padding would be
    targets[1, -1] = -100
    return ids, targets, {}


def masked_batch(gen, vocab, batch, length):
    """Row 1 ends in two padding positions; a few unpadded positions per row carry a masked-token target."""
    ids = torch.randint(0, vocab, (batch, length), generator=gen)
    attention_mask = torch.ones(batch, length, dtype=torch.bool)
    attention_mask[1, -2:] = False
    token_types = torch.zeros(batch, length, dtype=torch.long)
    token_types[:, length // 2:] = 1
    targets = torch.full((batch, length), -100, dtype=torch.long)
    for row, columns in ((0, (1, 4, 8)), (1, (0, 3, 6))):
        for col in columns:
            targets[row, col] = int(torch.randint(0, vocab, (1,), generator=gen))
    return ids, targets, {"token_types": token_types, "attention_mask": attention_mask}


def main():
    gen = torch.Generator().manual_seed(1234)
    os.makedirs(OUT, exist_ok=True)
    wanted = set(sys.argv[1:])
    cases = [(gpt2_case, causal_batch, gen), (llama_case, causal_batch, gen), (bert_case, masked_batch, gen)]
    # Families added later draw from a generator of their own, so adding them left the fixtures above unchanged.
    family_gen = torch.Generator().manual_seed(18)
    cases += [(lambda g, t=t: qwen_case(g, t), causal_batch, family_gen) for t in ("qwen2", "qwen3")]
    cases += [(llama3_case, causal_batch, family_gen)]
    cases += [(lambda g, par=par: gpt_neox_case(g, par), causal_batch, family_gen) for par in (True, False)]
    cases += [(phi3_case, causal_batch, family_gen), (gemma3_case, causal_batch, family_gen)]
    for make, make_batch, gen in cases:
        name, cfg, params, forward, embed_name = make(gen)
        vocab = cfg["vocab_size"]
        batch, length = 2, 9
        ids, targets, extra = make_batch(gen, vocab, batch, length)
        positions = torch.arange(length).expand(batch, length)
        if wanted and name not in wanted:
            continue

        for t in params.values():
            t.requires_grad_(True)
        embeds = params[embed_name][ids].detach().clone().requires_grad_(True)
        if make is bert_case:
            logits = forward(params, cfg, embeds, positions, extra["token_types"], extra["attention_mask"])
        else:
            logits = forward(params, embeds, positions)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=-100)
        loss.backward()

        # The gradient through the token lookup reaches the embedding matrix only via `embeds` here; add it back so
        # the embedding's gradient is the full one a training step would see.
        direct = params[embed_name].grad  # None when the head is untied: the lookup is the only use
        full_embed_grad = torch.zeros_like(params[embed_name]) if direct is None else direct.clone()
        full_embed_grad.index_add_(0, ids.reshape(-1), embeds.grad.reshape(-1, embeds.shape[-1]))

        directory = os.path.join(OUT, name)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(directory, "model.safetensors"), params, {"format": "pt"})
        expected = {
            "input_ids": ids.to(torch.float64),
            "targets": targets.to(torch.float64),
            "logits": logits,
            "loss": loss.reshape(1),
            "grad.inputs_embeds": embeds.grad,
        }
        expected.update({k: t.to(torch.float64) for k, t in extra.items()})
        for n, t in params.items():
            expected["grad." + n] = full_embed_grad if n == embed_name else t.grad
        write_safetensors(os.path.join(directory, "expected.safetensors"), expected,
                          {"generator": "tools/make_parity_fixtures.py", "torch": torch.__version__})
        print(f"{name}: loss {loss.item():.6f}, {len(params)} parameters -> {directory}")

    # The encoder-decoders draw from a generator of their own, so adding them left the fixtures above unchanged.
    t5_gen = torch.Generator().manual_seed(5)
    for case in (("t5-tiny", "relu", True, 2), ("t5-v1_1-tiny", "gated-gelu", False, 3)):
        write_t5_case(t5_gen, *case, write=not wanted or case[0] in wanted)


if __name__ == "__main__":
    sys.exit(main())
