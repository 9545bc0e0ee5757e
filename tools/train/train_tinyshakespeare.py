"""Trains the small Llama-family language model that sparsekit's pruning methods are judged on.

    python3 tools/train/train_tinyshakespeare.py --corpus ../shared/data/tinyshakespeare.txt --out OUT_DIR

Data: tinyshakespeare, first 90% for training, last 10% held out (never trained on). Tokenizer:
byte-level BPE with 1024 entries trained on the training split. Model: Llama, 4 layers, width
256, 8 heads of 32, SwiGLU MLP of 688, tied embeddings, about 3.4M parameters, saved in f16
(under 8 MB) with save_pretrained plus the tokenizer files, and train_log.json (losses,
held-out perplexity, settings). Seeded; on one H200 it takes a few minutes.

A model this size memorizes the ~300K training tokens within a few thousand steps (a first run
reached train loss 0.09 while held-out loss rose to 8.2), so training keeps the weights of the
best held-out loss seen at the periodic evaluations (early stopping) and uses attention dropout.
"""
import argparse
import json
import math
import os
import time

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIALS = ["<unk>", "<s>", "</s>"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=1024)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    text = open(args.corpus, encoding="utf-8").read()
    split = int(0.9 * len(text))
    train_text, held_text = text[:split], text[split:]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([train_text], trainer=trainers.BpeTrainer(
        vocab_size=args.vocab, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    train_ids = torch.tensor(tok.encode(train_text).ids, dtype=torch.long)
    held_ids = torch.tensor(tok.encode(held_text).ids, dtype=torch.long)

    config = LlamaConfig(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=8,
                         num_key_value_heads=8, vocab_size=len(tok.get_vocab()), max_position_embeddings=512,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                         initializer_range=0.02, attention_dropout=0.1)
    model = LlamaForCausalLM(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = 200
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    gen = torch.Generator().manual_seed(args.seed)

    def batch(ids, n):
        starts = torch.randint(0, len(ids) - args.seq - 1, (n,), generator=gen)
        x = torch.stack([ids[s:s + args.seq] for s in starts])
        return x.to(device)

    held_windows = torch.stack([held_ids[s:s + args.seq] for s in range(0, len(held_ids) - args.seq, args.seq)])

    @torch.no_grad()
    def held_out_loss(m=None):
        """Mean over non-overlapping held-out windows of each window's mean next-token loss."""
        m = m or model
        m.eval()
        losses = []
        for b in range(0, len(held_windows), 64):
            x = held_windows[b:b + 64].to(device)
            logits = m(x).logits.float()
            per_window = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), x[:, 1:], reduction="none").mean(dim=1)
            losses.extend(per_window.tolist())
        m.train()
        return sum(losses) / len(losses)

    log = {"settings": vars(args), "parameters": params, "train_tokens": len(train_ids), "held_out_tokens": len(held_ids), "steps": []}
    best = {"loss": float("inf"), "step": -1, "state": None}
    start = time.time()
    model.train()
    for step in range(args.steps):
        x = batch(train_ids, args.batch)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = model(x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps - 1:
            entry = {"step": step, "train_loss": loss.item(), "held_out_loss": held_out_loss(), "seconds": time.time() - start}
            if entry["held_out_loss"] < best["loss"]:
                best = {"loss": entry["held_out_loss"], "step": step, "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            log["steps"].append(entry)
            print(json.dumps(entry), flush=True)
    model.load_state_dict(best["state"])
    log["best_step"] = best["step"]
    log["held_out_loss"] = best["loss"]
    log["held_out_perplexity_f32"] = math.exp(best["loss"])
    model.eval()
    model = model.half().cpu()
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>").save_pretrained(args.out)
    for extra in ["special_tokens_map.json"]:
        if os.path.exists(os.path.join(args.out, extra)):
            os.remove(os.path.join(args.out, extra))
    # Held-out loss of the f16-rounded weights, computed in f32: what sparsekit should reproduce.
    model32 = model.float().to(device).eval()
    log["held_out_loss_f16_weights"] = held_out_loss(model32)
    log["held_out_perplexity_f16_weights"] = math.exp(log["held_out_loss_f16_weights"])
    log["eval_protocol"] = f"non-overlapping windows of {args.seq} tokens over the held-out 10%, mean next-token loss per window, averaged"
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    print(json.dumps({"parameters": params, "held_out_perplexity": log["held_out_perplexity_f16_weights"]}))


if __name__ == "__main__":
    main()
