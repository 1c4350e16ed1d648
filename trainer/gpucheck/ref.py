#!/usr/bin/env python3
"""The reference side of medqa's GPU check (trainer/gpucheck): transformers and PEFT computing what
medqa computes, on the same device, from the same files. Python is only ever the reference here.

Each mode prints one JSON object on stdout. Logits go to --out as raw little-endian float32 [B,T,V]
(JSON would be tens of MB for a 151936-word vocabulary); the JSON carries the shape.

  ref.py probe
  ref.py logits      --model DIR --ids 1,2,3[;4,5,6] --dtypes f32,bf16 --device cuda --out FILE (FILE.f32, FILE.bf16)
  ref.py peft        --model DIR --adapter DIR --adapter-out DIR --rank 8 --alpha 16 --ids ... --device cuda --out FILE
                     (FILE.load: logits with medqa's adapter; FILE.write: with the adapter PEFT wrote to --adapter-out)
  ref.py lora-bench  --model DIR --batch 8 --seq 512 --rank 16 --steps 5 --warmup 2 --device cuda
"""
import argparse, json, os, sys, time

import torch

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def version(mod):
    try:
        return __import__(mod).__version__
    except Exception:
        return None


def ids_arg(s):
    rows = [[int(x) for x in r.split(",")] for r in s.split(";")]
    if len({len(r) for r in rows}) != 1:
        sys.exit("--ids: rows of different lengths")
    return rows


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def load(model, dtype, dev):
    from transformers import Qwen2ForCausalLM
    # Eager attention: the plainest formulation transformers has, so the reference is unambiguous. The
    # files are float32; casting after loading works alike on every transformers version (the dtype
    # argument of from_pretrained changed name in 4.56).
    m = Qwen2ForCausalLM.from_pretrained(model, attn_implementation="eager")
    return m.to(device=dev, dtype=dtype).eval()


def write_logits(path, logits):
    t = logits.detach().float().cpu().contiguous()
    with open(path + ".tmp", "wb") as f:
        f.write(t.numpy().tobytes())
    os.replace(path + ".tmp", path)
    return list(t.shape)


def logits_of(m, rows, dev):
    with torch.no_grad():
        return m(torch.tensor(rows, device=dev)).logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["probe", "logits", "peft", "lora-bench"])
    ap.add_argument("--model"); ap.add_argument("--adapter"); ap.add_argument("--adapter-out")
    ap.add_argument("--ids"); ap.add_argument("--out"); ap.add_argument("--dtypes", default="f32")
    ap.add_argument("--device", default="cuda"); ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32); ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512); ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2); ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    dev = torch.device(a.device if a.device != "cpu" else "cpu")

    if a.mode == "probe":
        out = {"torch": torch.__version__, "cuda": torch.cuda.is_available(), "transformers": version("transformers"),
               "peft": version("peft")}
        if torch.cuda.is_available():
            out["device_name"] = torch.cuda.get_device_name(0)
        print(json.dumps(out)); return

    if a.mode == "logits":  # one process, one load for every dtype: importing and loading take seconds
        out, m = {}, load(a.model, torch.float32, dev)
        for dt in a.dtypes.split(","):
            m = m.to(dtype=DTYPES[dt])
            out["shape"] = write_logits(a.out + "." + dt, logits_of(m, ids_arg(a.ids), dev))
        print(json.dumps(out)); return

    from peft import LoraConfig, PeftModel, get_peft_model
    if a.mode == "peft":
        rows = ids_arg(a.ids)
        m = PeftModel.from_pretrained(load(a.model, torch.float32, dev), a.adapter).to(dev).eval()
        shape = write_logits(a.out + ".load", logits_of(m, rows, dev))
        del m  # PEFT changes the model it wraps: the second half starts from a fresh load
        # init_lora_weights=False draws B at random too, so the adapter changes the logits.
        cfg = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0, target_modules=LINEAR, init_lora_weights=False,
                         task_type="CAUSAL_LM")
        m = get_peft_model(load(a.model, torch.float32, dev), cfg).eval()
        m.save_pretrained(a.adapter_out)
        write_logits(a.out + ".write", logits_of(m, rows, dev))
        print(json.dumps({"shape": shape})); return

    # lora-bench: the training step medqa's sft runs, as a transformers + PEFT user writes it: bf16 base
    # weights, float32 adapters (PEFT's autocast_adapter_dtype), bf16 autocast on CUDA, AdamW, clipping at 1.
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    cfg = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.05, target_modules=LINEAR, task_type="CAUSAL_LM")
    m = get_peft_model(load(a.model, dtype, dev), cfg)
    m.train()
    V = m.config.vocab_size
    ids = torch.tensor([[(i * 7919 + 13 + r * 104729) % V for i in range(a.seq)] for r in range(a.batch)], device=dev)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    losses, times = [], []
    for step in range(a.warmup + a.steps):
        sync(dev); t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            loss = m(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
        losses.append(loss.item()); sync(dev)
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"tokens_per_s": a.batch * a.seq * len(times) / sum(times), "losses": losses,
                      "peak_mem_gb": torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None}))


if __name__ == "__main__":
    main()
