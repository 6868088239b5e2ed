import pytest
import torch

from strongroom.model.config import PRESETS, GemmaConfig, preset
from strongroom.model.gemma import GemmaDecoder, SequenceLoss


def test_forward_shapes_and_untied_head():
    cfg = preset("tiny")
    model = GemmaDecoder(cfg)
    logits = model(torch.randint(0, 256, (3, 17)))
    assert logits.shape == (3, 17, cfg.vocab_size)
    assert model.lm_head.weight.data_ptr() != model.embed.weight.data_ptr()
    assert logits.abs().max() <= cfg.final_logit_softcap


def test_attention_is_causal():
    torch.manual_seed(0)
    model = GemmaDecoder(preset("tiny")).eval()
    a = torch.randint(0, 256, (1, 12))
    b = a.clone()
    b[0, 8:] = (b[0, 8:] + 1) % 256
    assert torch.allclose(model(a)[0, :8], model(b)[0, :8], atol=1e-6)
    assert not torch.allclose(model(a)[0, 8:], model(b)[0, 8:])


def test_sequence_loss_is_per_sequence_and_ignores_padding():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 10)
    targets = torch.tensor([[1, 2, 3, 9], [4, 9, 9, 9]])
    per_seq = SequenceLoss(pad_id=9, reduction="none")(logits, targets)
    manual = [
        torch.nn.functional.cross_entropy(logits[0, :3], targets[0, :3]),
        torch.nn.functional.cross_entropy(logits[1, :1], targets[1, :1]),
    ]
    assert per_seq.shape == (2,)
    assert torch.allclose(per_seq, torch.stack(manual))


def test_presets_are_valid_and_mqa_by_default():
    assert all(isinstance(c, GemmaConfig) for c in PRESETS.values())
    assert preset("demo").n_kv_heads == 1
    assert GemmaDecoder(preset("tiny")).num_parameters() < 100_000


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("small", 5e6, 10e6), ("base", 90e6, 110e6), ("vaultgemma-1b", 0.65e9, 0.75e9)],
)
def test_presets_have_their_stated_sizes(name, low, high):
    cfg = preset(name)
    with torch.device("meta"):  # no memory: shapes only
        model = GemmaDecoder(cfg)
    assert low <= sum(p.numel() for p in model.parameters()) <= high
    assert cfg.max_seq_len == 1024
    if name == "vaultgemma-1b":  # VaultGemma 1B's body: 26 layers, width 1152, one KV head
        assert (cfg.n_layers, cfg.d_model, cfg.n_kv_heads) == (26, 1152, 1)
