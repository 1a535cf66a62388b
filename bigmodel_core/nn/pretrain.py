"""Masked-language-model pre-training for the tiny BERT, on unlabelled text only.

A tiny transformer trained from scratch on ten thousand labelled reviews sees each
character in only a handful of contexts. Pre-training it first to fill in masked
characters (BERT's MLM objective) on unlabelled text — the task's own train and
validation sentences, never the test split, plus optional extra corpora whose labels
are ignored — gives the encoder a feel for the language before it learns sentiment.
It is the same idea as the big pre-trained models, at a scale a laptop can run.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from bigmodel_core.errors import TrainingError

if TYPE_CHECKING:
    from tokenizers import Tokenizer


def mask_tokens(ids: torch.Tensor, mask: torch.Tensor, vocab_size: int, mask_id: int, special: torch.Tensor,
                gen: torch.Generator, rate: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: pick `rate` of the real tokens; 80 % become [MASK], 10 % a random token, 10 % stay.

    ids, mask: [N, T]. Returns (corrupted ids [N, T], targets [N, T] with -100 where no loss is taken).
    """
    can = mask.bool() & ~torch.isin(ids, special)                                   # [N, T] maskable positions
    picked = (torch.rand(ids.shape, generator=gen) < rate) & can
    targets = torch.where(picked, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=gen)
    out = ids.clone()
    out[picked & (roll < 0.8)] = mask_id
    rand_pos = picked & (roll >= 0.8) & (roll < 0.9)
    out[rand_pos] = torch.randint(0, vocab_size, ids.shape, generator=gen)[rand_pos]
    return out, targets


def mlm_pretrain(classifier: torch.nn.Module, tokenizer: Tokenizer, texts: list[str], epochs: int = 10,
                 batch_size: int = 64, lr: float = 1e-3,
                 seed: int = 0, log: Callable[[str], None] | None = None, should_stop: Callable[[], bool] | None = None
                 ) -> list[float]:
    """Pre-train `classifier` (a `TinyBert`) with masked-language modelling on `texts`; returns the epoch losses.

    The encoder weights are trained in a `BertForMaskedLM` that shares the classifier's
    config, then copied into the classifier's encoder; the classification head is untouched.
    """
    from transformers import BertConfig, BertForMaskedLM

    if not texts:
        raise TrainingError("There is no text to pre-train on.", hint="turn pre-training off or add a corpus")
    cfg = BertConfig(**classifier.config_dict)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    mlm = BertForMaskedLM(cfg)
    mlm.bert.load_state_dict(classifier.bert.bert.state_dict(), strict=False)   # same starting embeddings
    vocab = tokenizer.get_vocab()
    special = torch.tensor([vocab[t] for t in ("[PAD]", "[CLS]", "[SEP]", "[UNK]") if t in vocab])
    mask_id = vocab["[MASK]"]
    enc = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.int64)                        # [M, T]
    att = torch.tensor([e.attention_mask for e in enc], dtype=torch.int64)             # [M, T]
    gen = torch.Generator().manual_seed(seed)
    steps = epochs * math.ceil(len(ids) / batch_size)
    opt = torch.optim.AdamW(mlm.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    losses = []
    mlm.train()
    for epoch in range(epochs):
        t0, total, count = time.time(), 0.0, 0
        for idx in torch.randperm(len(ids), generator=gen).split(batch_size):
            b_ids, b_att = ids[idx], att[idx]
            longest = int(b_att.sum(1).max())
            b_ids, b_att = b_ids[:, :longest], b_att[:, :longest]                     # [B, T']
            x, y = mask_tokens(b_ids, b_att, cfg.vocab_size, mask_id, special, gen)
            if not (y != -100).any():
                continue
            hidden = mlm.bert(input_ids=x, attention_mask=b_att).last_hidden_state     # [B, T', H]
            where = y != -100                                                          # [B, T']
            logits = mlm.cls(hidden[where])                                            # [K, V] masked positions only
            loss = F.cross_entropy(logits, y[where])
            if not torch.isfinite(loss):
                raise TrainingError("Pre-training diverged (the loss is not a number).", hint="lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
            opt.step()
            sched.step()
            total, count = total + loss.item(), count + 1
            if should_stop and should_stop():
                break
        losses.append(total / max(count, 1))
        if log:
            log(f"pre-train epoch {epoch + 1}/{epochs} mlm_loss={losses[-1]:.3f} ({time.time() - t0:.0f}s)")
        if should_stop and should_stop():
            break
    classifier.bert.bert.load_state_dict(mlm.bert.state_dict(), strict=False)        # the pooler keeps its init
    return losses
