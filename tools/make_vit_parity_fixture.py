#!/usr/bin/python3
"""Writes the ViT parity fixture (tests/fixtures/parity/vit-tiny/) the C# tests compare against.

A tiny random ViT in plain torch following Hugging Face's ViTForImageClassification equations (stride-P Conv2d patch
embedding, CLS token, learned positions, pre-LayerNorm layers, final LayerNorm, classifier on the CLS row), with two
input channels so that the patch flattening order is checked too. For one fixed batch it stores the logits, the
cross-entropy loss and every weight gradient; then, with the model frozen, the same for VPT-deep prompts in the first
two of three layers (Jia et al. 2022: prompts inserted after CLS before layer 0, replaced before layer 1, and the
layer-1 prompt outputs passed on through layer 2): logits, loss and the prompts' gradient. float64, stored as float32.

Run:  sudo apt-get install -y python3-torch && /usr/bin/python3 tools/make_vit_parity_fixture.py
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import gelu_new, write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity", "vit-tiny")

CONFIG = {
    "architectures": ["ViTForImageClassification"], "model_type": "vit", "image_size": 8, "patch_size": 4,
    "num_channels": 2, "hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 32,
    "hidden_act": "gelu_new", "layer_norm_eps": 1e-12, "qkv_bias": True,
    "id2label": {str(i): f"class{i}" for i in range(5)}, "label2id": {f"class{i}": i for i in range(5)},
}


def parameters(gen):
    c = CONFIG
    d, f, p, ch = c["hidden_size"], c["intermediate_size"], c["patch_size"], c["num_channels"]
    tokens = (c["image_size"] // p) ** 2 + 1
    shapes = {
        "vit.embeddings.cls_token": (1, 1, d),
        "vit.embeddings.position_embeddings": (1, tokens, d),
        "vit.embeddings.patch_embeddings.projection.weight": (d, ch, p, p),
        "vit.embeddings.patch_embeddings.projection.bias": (d,),
    }
    for i in range(c["num_hidden_layers"]):
        pre = f"vit.encoder.layer.{i}."
        for norm in ("layernorm_before", "layernorm_after"):
            shapes[pre + norm + ".weight"] = (d,)
            shapes[pre + norm + ".bias"] = (d,)
        for name in ("attention.attention.query", "attention.attention.key", "attention.attention.value", "attention.output.dense"):
            shapes[pre + name + ".weight"] = (d, d)
            shapes[pre + name + ".bias"] = (d,)
        shapes[pre + "intermediate.dense.weight"] = (f, d)
        shapes[pre + "intermediate.dense.bias"] = (f,)
        shapes[pre + "output.dense.weight"] = (d, f)
        shapes[pre + "output.dense.bias"] = (d,)
    shapes["vit.layernorm.weight"] = (d,)
    shapes["vit.layernorm.bias"] = (d,)
    shapes["classifier.weight"] = (len(c["id2label"]), d)
    shapes["classifier.bias"] = (len(c["id2label"]),)
    params = {}
    for name, shape in shapes.items():
        is_gain = "layernorm" in name and name.endswith(".weight")
        params[name] = (1.0 if is_gain else 0.0) + (0.1 if is_gain else 0.3) * torch.randn(shape, generator=gen, dtype=torch.float64)
    return params


def layer(p, i, h):
    c = CONFIG
    d, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    pre = f"vit.encoder.layer.{i}."
    b, t, _ = h.shape

    def linear(x, name):
        return x @ p[pre + name + ".weight"].T + p[pre + name + ".bias"]

    def split_heads(x):
        return x.view(b, t, heads, d // heads).transpose(1, 2)

    a = torch.nn.functional.layer_norm(h, (d,), p[pre + "layernorm_before.weight"], p[pre + "layernorm_before.bias"], eps)
    q, k, v = (split_heads(linear(a, "attention.attention." + n)) for n in ("query", "key", "value"))
    attended = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), dim=-1) @ v
    h = h + linear(attended.transpose(1, 2).reshape(b, t, d), "attention.output.dense")
    m = torch.nn.functional.layer_norm(h, (d,), p[pre + "layernorm_after.weight"], p[pre + "layernorm_after.bias"], eps)
    return h + linear(gelu_new(linear(m, "intermediate.dense")), "output.dense")


def forward(p, pixels, prompts=None):
    """Logits (B, classes); prompts (L, P, D) are VPT-deep prompts for the first L layers, or None."""
    c = CONFIG
    b = pixels.shape[0]
    patches = torch.nn.functional.conv2d(pixels, p["vit.embeddings.patch_embeddings.projection.weight"],
                                         p["vit.embeddings.patch_embeddings.projection.bias"], stride=c["patch_size"])
    patches = patches.flatten(2).transpose(1, 2)
    h = torch.cat([p["vit.embeddings.cls_token"].expand(b, -1, -1), patches], dim=1) + p["vit.embeddings.position_embeddings"]
    for i in range(c["num_hidden_layers"]):
        if prompts is not None and i < prompts.shape[0]:
            n = prompts.shape[1]
            rest = h[:, 1:] if i == 0 else h[:, 1 + n:]
            h = torch.cat([h[:, :1], prompts[i].expand(b, -1, -1), rest], dim=1)
        h = layer(p, i, h)
    h = torch.nn.functional.layer_norm(h, (c["hidden_size"],), p["vit.layernorm.weight"], p["vit.layernorm.bias"], c["layer_norm_eps"])
    return h[:, 0] @ p["classifier.weight"].T + p["classifier.bias"]


def main():
    gen = torch.Generator().manual_seed(4321)
    c = CONFIG
    params = parameters(gen)
    batch = 3
    pixels = torch.rand((batch, c["num_channels"], c["image_size"], c["image_size"]), generator=gen, dtype=torch.float64)
    labels = torch.randint(0, len(c["id2label"]), (batch,), generator=gen)
    prompts = 0.5 * torch.randn((2, 3, c["hidden_size"]), generator=gen, dtype=torch.float64)

    for t in params.values():
        t.requires_grad_(True)
    logits = forward(params, pixels)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    expected = {"pixels": pixels, "labels": labels.to(torch.float64), "logits": logits, "loss": loss.reshape(1)}
    expected.update({"grad." + n: t.grad for n, t in params.items()})

    for t in params.values():
        t.requires_grad_(False)
    prompts.requires_grad_(True)
    vpt_logits = forward(params, pixels, prompts)
    vpt_loss = torch.nn.functional.cross_entropy(vpt_logits, labels)
    vpt_loss.backward()
    expected.update({"vpt.prompts": prompts, "vpt.logits": vpt_logits, "vpt.loss": vpt_loss.reshape(1), "grad.vpt.prompts": prompts.grad})

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(OUT, "model.safetensors"), params, {"format": "pt"})
    write_safetensors(os.path.join(OUT, "expected.safetensors"), expected,
                      {"generator": "tools/make_vit_parity_fixture.py", "torch": torch.__version__})
    print(f"vit-tiny: loss {loss.item():.6f}, VPT-deep loss {vpt_loss.item():.6f}, {len(params)} parameters -> {OUT}")


if __name__ == "__main__":
    sys.exit(main())
