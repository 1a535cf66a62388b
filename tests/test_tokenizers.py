"""The tiny BERT's own tokenizers: learnt from the training texts, identical on every run."""
import pytest

from bigmodel_core.nn.text_nets import SPECIALS, train_wordpiece

ENGLISH = ["a gripping , funny film", "the film is dull and far too long", "funny , warm and gripping",
           "too long by half", "a warm , wise and funny story", "dull dull dull"] * 5
CHINESE = ["送餐很快，味道不错", "太慢了，菜都凉了", "味道很好 ok 下次还点", "不好吃，太咸了", "app 很好用，送餐快"] * 4


@pytest.mark.parametrize("texts", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_the_same_texts_give_the_same_tokenizer_every_time(texts):
    """The `tokenizers` WordPiece trainer breaks ties in hash order, so its vocabulary (and the ids)
    change between runs; a fixed seed must still give the same model, so the vocabulary is counted."""
    first = train_wordpiece(texts, vocab_size=200, max_length=16)
    for _ in range(3):
        again = train_wordpiece(list(texts), vocab_size=200, max_length=16)
        assert again.to_str() == first.to_str()
    vocab = first.get_vocab()
    assert [vocab[t] for t in SPECIALS] == list(range(len(SPECIALS)))       # [PAD] is 0: padding ids stay 0
    enc = first.encode(texts[0])
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]" and "[UNK]" not in enc.tokens


def test_chinese_vocabulary_is_every_character_then_frequent_words():
    tok = train_wordpiece(CHINESE, vocab_size=200, max_length=32)
    enc = tok.encode("味道不错，送餐很快 ok")
    assert enc.tokens[1:-1] == ["味", "道", "不", "错", "，", "送", "餐", "很", "快", "ok"]   # one character a token
    assert tok.encode("龘").tokens[1:-1] == ["[UNK]"]                                     # never seen
    assert tok.encode("app ok").tokens[1:-1] == ["app", "ok"]                             # frequent words whole
    assert tok.encode("ap").tokens[1:-1] == ["a", "##p"]                                   # others by character
    small = train_wordpiece(CHINESE, vocab_size=len(SPECIALS) + 10, max_length=32)
    assert small.get_vocab_size() == len(SPECIALS) + 10                                  # the budget holds
    kept = set(small.get_vocab()) - set(SPECIALS)
    assert {"，", "了", "好"} <= kept                                                    # the most frequent characters
