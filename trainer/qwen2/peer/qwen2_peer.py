#!/usr/bin/python3
"""medqa's PyTorch-eager peer: Qwen2ForCausalLM as Hugging Face transformers computes it, written as a
PyTorch user would write it (nn.Modules, autograd, torch.optim), to run beside medqa on the same machine.
The benchmarks divide medqa's figures by this one's; trainer/qwen2's TestPeerMatchesTransformers keeps it
honest against transformers' own logits for the tiny-qwen2 checkpoint.

Needs Debian's python3-torch (apt-get install -y python3-torch libopenblas0); run it with /usr/bin/python3.
Each measurement is one JSON object on its own line of stdout.

  qwen2_peer.py decode    [--model DIR | --shape qwen2.5-0.5b] [--prompt 128] [--new 32] [--threads N]
      greedy decoding through a KV cache after a prompt of ids (i*7919+13) mod vocab:
      {"peer", "torch", "threads", "mode", "prefill_tokens_per_s", "decode_tokens_per_s"}
  qwen2_peer.py lora-step [--model DIR | --shape qwen2.5-0.5b] [--seq 512] [--rank 16] [--steps 3] [--threads N]
      LoRA (alpha 32) on every linear layer, next-token loss on all positions, AdamW lr 1e-4;
      one line per step: {"peer", "torch", "threads", "mode", "step", "loss", "seconds"}
  qwen2_peer.py logits    --model DIR --ids 1,2,3 [--threads N]
      float64 logits, one row per position: {"logits": [[...], ...]}

--shape builds random weights (normal, std 0.02, seed 0) of that shape instead of reading a checkpoint;
--threads defaults to every CPU.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# Qwen2.5-0.5B's config.json fields that the forward pass reads.
SHAPES = {
    "qwen2.5-0.5b": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                     "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
                     "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True},
}

SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


class PeerError(Exception):
    """Bad input: the message names the file and the field or tensor."""


def read_safetensors(path):
    """The tensors of one .safetensors file: an 8-byte little-endian header length, a JSON header of
    {name: {dtype, shape, data_offsets}}, then the data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise PeerError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise PeerError(f"{path}: header of {n} bytes runs past the end of the file")
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise PeerError(f"{path}: tensor {name} has dtype {info['dtype']}; the peer reads {sorted(SAFETENSORS_DTYPES)}")
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if end - begin != count * torch.empty(0, dtype=dtype).element_size() or end > len(data):
            raise PeerError(f"{path}: tensor {name}: offsets [{begin}, {end}) do not hold shape {info['shape']} of {info['dtype']}")
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if count else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    return out


class Linear(nn.Module):
    """nn.Linear without its initialisation: every weight is loaded or drawn afterwards (initialising a
    151936x896 matrix only to overwrite it costs seconds)."""

    def __init__(self, inputs, outputs, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(outputs, inputs))
        self.bias = nn.Parameter(torch.empty(outputs)) if bias else None
        self.lora = None

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.lora is not None:
            y = y + self.lora(x)
        return y


class LoRA(nn.Module):
    """A low-rank update B·A·x·(alpha/r), A drawn as peft draws it (Kaiming-uniform), B zero."""

    def __init__(self, inputs, outputs, rank, alpha):
        super().__init__()
        self.A = nn.Parameter(torch.empty(rank, inputs))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(outputs, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return F.linear(F.linear(x, self.A), self.B) * self.scale


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(size))
        self.eps = eps

    def forward(self, x):
        # transformers normalises in float32 (at least) and casts back before the weight.
        h = x.to(torch.promote_types(x.dtype, torch.float32))
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rotary(positions, head_dim, theta, dtype):
    """cos and sin [T, head_dim] for rotate-half RoPE, computed in float32 as transformers' default
    rotary embedding computes them, then cast to the activations' dtype."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    angles = positions.float()[:, None] * inv_freq[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        h = c["hidden_size"]
        self.q_proj = Linear(h, self.heads * self.head_dim, bias=True)
        self.k_proj = Linear(h, self.kv_heads * self.head_dim, bias=True)
        self.v_proj = Linear(h, self.kv_heads * self.head_dim, bias=True)
        self.o_proj = Linear(self.heads * self.head_dim, h, bias=False)

    def forward(self, x, cos, sin, past):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past is not None:
            if past:
                k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
            past[:] = [k, v]
        groups = self.heads // self.kv_heads  # grouped-query attention: each KV head serves `groups` heads
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        S = k.shape[2]
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim)
        # Query i sits at position S-T+i and sees keys 0..S-T+i.
        hidden = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1)
        scores = scores.masked_fill(hidden, torch.finfo(scores.dtype).min)
        out = scores.softmax(dim=-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.heads * self.head_dim))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj, self.up_proj, self.down_proj = Linear(h, i, False), Linear(h, i, False), Linear(i, h, False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, past):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, past)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    """transformers' Qwen2Model: the parameter names below are the checkpoint's, after "model."."""

    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"], _weight=torch.empty(c["vocab_size"], c["hidden_size"]))
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Qwen2ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Body(c)
        self.tied = c["tie_word_embeddings"]
        if not self.tied:
            self.lm_head = Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def forward(self, ids, cache=None):
        """Logits [B, T, vocab] for ids [B, T]. With a cache (a list with one list per layer, empty at
        first), the ids continue the cached sequence and the cache grows by them."""
        start = cache[0][0].shape[2] if cache and cache[0] else 0
        x = self.model.embed_tokens(ids)
        cos, sin = rotary(torch.arange(start, start + ids.shape[1]), self.c["head_dim"], self.c["rope_theta"], x.dtype)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, cache[i] if cache is not None else None)
        x = self.model.norm(x)
        head = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return F.linear(x, head)

    def new_cache(self):
        return [[] for _ in self.model.layers]

    def attach_lora(self, rank, alpha):
        """Freezes the model and adds LoRA to every linear layer (q, k, v, o, gate, up, down); returns
        the adapter parameters."""
        self.requires_grad_(False)
        params = []
        for m in self.model.layers.modules():
            if isinstance(m, Linear):
                m.lora = LoRA(m.weight.shape[1], m.weight.shape[0], rank, alpha)
                params += [m.lora.A, m.lora.B]
        return params


def read_config(args):
    """The config.json fields the forward pass reads, with Qwen2Config's defaults."""
    if args.model:
        path = os.path.join(args.model, "config.json")
        try:
            with open(path) as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise PeerError(f"{path}: {e}")
    else:
        path, raw = f"--shape {args.shape}", SHAPES[args.shape]
    c = {"rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False}
    c.update({k: v for k, v in raw.items() if v is not None})
    for field in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        if not isinstance(c.get(field), int) or c[field] <= 0:
            raise PeerError(f"{path}: {field} must be a positive integer, got {c.get(field)!r}")
    c.setdefault("num_key_value_heads", c["num_attention_heads"])
    c["head_dim"] = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    if c.get("model_type", "qwen2") != "qwen2":
        raise PeerError(f"{path}: model_type is {c['model_type']!r}, want \"qwen2\"")
    if c.get("hidden_act", "silu") != "silu":
        raise PeerError(f"{path}: hidden_act {c['hidden_act']!r} is not supported")
    if c.get("rope_scaling") or c.get("use_sliding_window"):
        raise PeerError(f"{path}: rope_scaling and use_sliding_window are not supported")
    if c["num_attention_heads"] % c["num_key_value_heads"]:
        raise PeerError(f"{path}: num_attention_heads is not a multiple of num_key_value_heads")
    return c


def build(args, dtype):
    c = read_config(args)
    model = Qwen2ForCausalLM(c)
    with torch.no_grad():
        if args.model:
            state = {}
            files = sorted(f for f in os.listdir(args.model) if f.endswith(".safetensors"))
            if not files:
                raise PeerError(f"{args.model}: no .safetensors file")
            for f in files:
                state.update(read_safetensors(os.path.join(args.model, f)))
            if model.tied:
                state.pop("lm_head.weight", None)  # a tied head is the embedding, as in transformers
            want = dict(model.named_parameters())
            missing, extra = sorted(want.keys() - state.keys()), sorted(state.keys() - want.keys())
            if missing or extra:
                raise PeerError(f"{args.model}: missing tensors {missing[:5]}, unexpected tensors {extra[:5]}")
            for name, p in want.items():
                if tuple(state[name].shape) != tuple(p.shape):
                    raise PeerError(f"{args.model}: tensor {name} has shape {list(state[name].shape)}, the config needs {list(p.shape)}")
                p.copy_(state[name])
        else:
            g = torch.Generator().manual_seed(0)
            for name, p in model.named_parameters():
                if name.endswith("layernorm.weight") or name == "model.norm.weight":
                    p.fill_(1.0)
                else:
                    p.normal_(0.0, 0.02, generator=g)
    return model.to(dtype)


def pattern(n, vocab):
    """The benchmarks' input: ids (i*7919+13) mod vocab. medqa's side builds the same sequence."""
    return torch.tensor([[(i * 7919 + 13) % vocab for i in range(n)]])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["decode", "lora-step", "logits"])
    ap.add_argument("--model", help="a Hugging Face Qwen2 directory (config.json + *.safetensors)")
    ap.add_argument("--shape", default="qwen2.5-0.5b", choices=sorted(SHAPES), help="random weights of this shape when --model is not given")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt", type=int, default=128, help="decode: prompt tokens")
    ap.add_argument("--new", type=int, default=32, help="decode: new tokens")
    ap.add_argument("--seq", type=int, default=512, help="lora-step: sequence length")
    ap.add_argument("--rank", type=int, default=16, help="lora-step: LoRA rank")
    ap.add_argument("--steps", type=int, default=3, help="lora-step: training steps")
    ap.add_argument("--ids", default="", help="logits: comma-separated token ids")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    about = {"peer": "pytorch-eager", "torch": torch.__version__, "threads": a.threads, "mode": a.mode}

    if a.mode == "logits":
        if not a.model:
            raise PeerError("logits needs --model")
        try:
            ids = [int(s) for s in a.ids.split(",")]
        except ValueError:
            raise PeerError(f"--ids {a.ids!r}: want comma-separated integers")
        model = build(a, torch.float64)
        if any(i < 0 or i >= model.c["vocab_size"] for i in ids):
            raise PeerError(f"--ids: every id must be in [0, {model.c['vocab_size']})")
        with torch.no_grad():
            logits = model(torch.tensor([ids]))[0]
        print(json.dumps({"logits": logits.tolist()}))
        return

    model = build(a, torch.float32)
    vocab = model.c["vocab_size"]
    if a.mode == "decode":
        ids = pattern(a.prompt, vocab)
        with torch.no_grad():
            cache = model.new_cache()
            t0 = time.perf_counter()
            next_id = model(ids, cache)[:, -1].argmax(-1, keepdim=True)
            t1 = time.perf_counter()
            for _ in range(a.new):
                next_id = model(next_id, cache)[:, -1].argmax(-1, keepdim=True)
            t2 = time.perf_counter()
        print(json.dumps({**about, "prefill_tokens_per_s": a.prompt / (t1 - t0), "decode_tokens_per_s": a.new / (t2 - t1)}))
        return

    params = model.attach_lora(a.rank, alpha=32)
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = pattern(a.seq, vocab)
    for step in range(a.steps):
        t0 = time.perf_counter()
        logits = model(ids)[0]
        loss = F.cross_entropy(logits[:-1], ids[0, 1:])
        loss.backward()
        opt.step()
        opt.zero_grad()
        print(json.dumps({**about, "step": step, "loss": loss.item(), "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except PeerError as e:
        sys.exit(f"qwen2_peer: {e}")
