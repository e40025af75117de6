#!/usr/bin/env python3
"""Writes the fidelity fixtures under Tests/ModelsTests/Fixtures/.

A small byte-level BPE tokenizer trained on inline text, tiny random Llama / Qwen2 / Qwen3 /
Qwen3-MoE / GLM-4.5 (Glm4Moe) checkpoints (bf16 safetensors, config.json as transformers writes it) and float32 references
computed by transformers from those bf16 weights: log-softmax over the vocabulary at every
prompt position and a 32-token greedy continuation per prompt.

Random models with small weights give near-uniform logits, so greedy decoding would flip on float
rounding. Weights are drawn with a large standard deviation, and a model whose greedy paths have a
top-1/top-2 log-prob margin under MIN_MARGIN (or that emit a special token) is redrawn with the
next seed. Mixture-of-experts models are also redrawn when a router decision along those paths is
nearly tied (MIN_ROUTE_MARGIN), since a tie broken differently by float rounding changes the
experts a token uses.

Usage (from the repository root; needs torch, transformers>=5, tokenizers, safetensors):
    python3 scripts/make_fidelity_fixtures.py [MODEL_NAME ...]
See Tests/ModelsTests/Fixtures/README.md for the format.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    GenerationConfig,
    Glm4MoeConfig,
    Glm4MoeForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "ModelsTests" / "Fixtures"

VOCAB_TARGET = 512
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GREEDY_TOKENS = 32
MIN_MARGIN = 1e-2  # required top-1 minus top-2 log-prob along every greedy step
MAX_SEED_TRIES = 50
# Router decisions: the k-th chosen expert must beat the best unchosen one by this much, and likewise
# the groups kept. Softmax routers compare logits (float32 differences are ~1e-5 there); sigmoid
# routers compare biased scores in (0, 1) + bias, whose slope in the logits is at most 1/4.
MIN_ROUTE_MARGIN = {"softmax": 1e-3, "sigmoid": 1e-4}

# Training text for the tokenizer: English, code, and non-ASCII text (multi-byte UTF-8).
TRAINING_TEXT = [
    "The quick brown fox jumps over the lazy dog. A paged attention kernel reads keys and values "
    "from fixed-size blocks of sixteen tokens; a block table maps each sequence to its blocks.",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who told stories "
    "about the stars, the tides and the wind. Every evening the children gathered to listen.",
    "Inference engines batch requests continuously: each step schedules new prompt tokens and one "
    "decode token for every running sequence, under a budget of tokens per step.",
    "The capital of France is Paris. The capital of Japan is Tokyo. The capital of Italy is Rome.",
    "Language models predict the next token from the previous ones. Greedy decoding picks the most "
    "likely token at every step, while sampling draws from a temperature-scaled distribution.",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "for (int i = 0; i < n; i++) {\n    sum += values[i] * weights[i];\n}\nreturn sum / n;\n",
    "func softmax(_ x: [Float]) -> [Float] {\n    let m = x.max() ?? 0\n    let e = x.map { exp($0 - m) }\n"
    "    let s = e.reduce(0, +)\n    return e.map { $0 / s }\n}\n",
    'import json\nwith open("config.json") as f:\n    config = json.load(f)\nprint(config["hidden_size"])\n',
    "Café, naïve, résumé, façade, jalapeño, über, smörgåsbord. Ελληνικά, русский язык, 日本語のテキスト, "
    "中文文本, 한국어, emoji: 🙂🚀✨, math: ∑ x² ≤ ∞, arrows → ← ↑.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 3.14159 2.71828 -1e-6 0x1F 1_000_000.",
    "<html><body><p>Hello, world!</p></body></html>  {\"role\": \"user\", \"content\": \"Hi there\"}",
]

PROMPTS = [
    "Hello world, the",
    "Once upon a time, in a small village, there lived a fisherman who told stories about the stars.",
    "A block table maps each sequence to its KV blocks.\n"
    "def softmax(x):\n    m = max(x)\n    e = [math.exp(v - m) for v in x]\n    return [v / sum(e) for v in e]\n"
    "Café au lait, 日本語, emoji 🚀 and math ∑ x² ≤ ∞. The capital of France is Paris; "
    "the quick brown fox jumps over the lazy dog.",
]


def train_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TARGET,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Repeat the text so merges have counts well above 1 and training is not starved.
    tok.train_from_iterator(TRAINING_TEXT * 4, trainer=trainer)
    return tok


# name: (model class, config class, config kwargs, extra options)
def model_specs(vocab: int):
    return [
        ("llama-gqa", LlamaForCausalLM, LlamaConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
            rope_theta=10000.0, tie_word_embeddings=False), {}),
        ("llama-tied-hd32", LlamaForCausalLM, LlamaConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=192, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-6,
            rope_theta=500000.0, tie_word_embeddings=True), {}),
        ("llama-mha-sharded", LlamaForCausalLM, LlamaConfig, dict(
            vocab_size=vocab + 8, hidden_size=96, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=6, num_key_value_heads=6, rms_norm_eps=1e-5,
            rope_theta=10000.0, tie_word_embeddings=False), {"max_shard_size": "120KB"}),
        ("llama-rope-llama3", LlamaForCausalLM, LlamaConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
            rope_theta=50000.0, tie_word_embeddings=False,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 64}), {}),
        ("qwen2-bias-tied-v4config", Qwen2ForCausalLM, Qwen2Config, dict(
            vocab_size=vocab, hidden_size=96, intermediate_size=224, num_hidden_layers=2,
            num_attention_heads=6, num_key_value_heads=2, rms_norm_eps=1e-6,
            rope_theta=1000000.0, tie_word_embeddings=True), {"v4_config": True}),
        ("qwen3-tied", Qwen3ForCausalLM, Qwen3Config, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=1, head_dim=32, rms_norm_eps=1e-6,
            rope_theta=1000000.0, tie_word_embeddings=True), {}),
        ("qwen3-untied", Qwen3ForCausalLM, Qwen3Config, dict(
            vocab_size=vocab, hidden_size=96, intermediate_size=192, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-6,
            rope_theta=5000.0, tie_word_embeddings=False), {}),
        # Mixture of experts. Qwen3-MoE: softmax routing, no shared expert.
        ("qwen3moe-top2-norm-mlponly", Qwen3MoeForCausalLM, Qwen3MoeConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6,
            rope_theta=1000000.0, tie_word_embeddings=False, num_experts=8, num_experts_per_tok=2,
            moe_intermediate_size=32, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[1]), {}),
        ("qwen3moe-top1-step2-tied", Qwen3MoeForCausalLM, Qwen3MoeConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=1, head_dim=32, rms_norm_eps=1e-6,
            rope_theta=10000.0, tie_word_embeddings=True, num_experts=4, num_experts_per_tok=1,
            moe_intermediate_size=48, norm_topk_prob=False, decoder_sparse_step=2, mlp_only_layers=[]), {}),
        ("qwen3moe-top4-fused", Qwen3MoeForCausalLM, Qwen3MoeConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6,
            rope_theta=1000000.0, tie_word_embeddings=False, num_experts=8, num_experts_per_tok=4,
            moe_intermediate_size=32, norm_topk_prob=False), {"save_original_format": False}),
        # GLM-4.5: sigmoid routing with a correction bias, partial rotary, q/k/v bias, dense first
        # layers, a multi-token-prediction layer appended to the checkpoint.
        ("glm4moe-shared-bias-mtp", Glm4MoeForCausalLM, Glm4MoeConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-5,
            rope_theta=1000000.0, partial_rotary_factor=0.5, tie_word_embeddings=False,
            attention_bias=True, use_qk_norm=False, n_routed_experts=8, num_experts_per_tok=2,
            moe_intermediate_size=32, n_shared_experts=1, first_k_dense_replace=1, n_group=1,
            topk_group=1, norm_topk_prob=True, routed_scaling_factor=1.0, num_nextn_predict_layers=1),
         {"mtp_layers": 1}),
        ("glm4moe-groups-noshared-qknorm", Glm4MoeForCausalLM, Glm4MoeConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=1, head_dim=16, rms_norm_eps=1e-5,
            rope_theta=10000.0, partial_rotary_factor=0.5, tie_word_embeddings=True,
            attention_bias=True, use_qk_norm=True, n_routed_experts=8, num_experts_per_tok=3,
            moe_intermediate_size=32, n_shared_experts=0, first_k_dense_replace=1, n_group=4,
            topk_group=2, norm_topk_prob=False, routed_scaling_factor=2.5, num_nextn_predict_layers=0), {}),
        ("glm4moe-top1-2shared", Glm4MoeForCausalLM, Glm4MoeConfig, dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5,
            rope_theta=10000.0, partial_rotary_factor=0.5, tie_word_embeddings=False,
            attention_bias=False, use_qk_norm=False, n_routed_experts=4, num_experts_per_tok=1,
            moe_intermediate_size=32, n_shared_experts=2, first_k_dense_replace=0, n_group=1,
            topk_group=1, norm_topk_prob=True, routed_scaling_factor=1.5, num_nextn_predict_layers=0), {}),
    ]


WEIGHT_STD = 0.25
NORM_STD = 0.1
BIAS_STD = 0.2
CORRECTION_BIAS_STD = 0.2  # e_score_correction_bias: comparable to the spread of sigmoid scores


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Draw every parameter explicitly: transformers would zero the biases and set norms to one."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + NORM_STD * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(BIAS_STD * torch.randn(p.shape, generator=g))
            else:
                p.copy_(WEIGHT_STD * torch.randn(p.shape, generator=g))
        # GLM's router correction bias is a buffer, not a parameter (zero by default).
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.copy_(CORRECTION_BIAS_STD * torch.randn(b.shape, generator=g))


def keep_correction_bias_f32(model: torch.nn.Module) -> None:
    """Published GLM checkpoints store e_score_correction_bias in float32 (transformers keeps it so)."""
    for module in model.modules():
        if hasattr(module, "e_score_correction_bias"):
            module.e_score_correction_bias.data = module.e_score_correction_bias.data.float()


def append_mtp_layers(folder: Path, config, count: int) -> None:
    """Add `count` multi-token-prediction layers after the last decoder layer, named as in GLM-4.5
    checkpoints (model.layers.{num_hidden_layers + i}: a full decoder layer plus eh_proj, enorm,
    hnorm, shared_head.norm). transformers ignores them; so must the Swift loader."""
    from safetensors.torch import load_file, save_file
    path = folder / "model.safetensors"
    tensors = load_file(path)
    last = config.num_hidden_layers - 1
    g = torch.Generator().manual_seed(4242)
    h = config.hidden_size
    for i in range(count):
        layer = config.num_hidden_layers + i
        for name, t in list(tensors.items()):
            prefix = f"model.layers.{last}."
            if name.startswith(prefix):
                tensors[f"model.layers.{layer}." + name[len(prefix):]] = t.clone()
        extra = {"eh_proj.weight": (h, 2 * h), "enorm.weight": (h,), "hnorm.weight": (h,),
                 "shared_head.norm.weight": (h,)}
        for name, shape in extra.items():
            tensors[f"model.layers.{layer}.{name}"] = (WEIGHT_STD * torch.randn(shape, generator=g)).to(torch.bfloat16)
    save_file(tensors, path, metadata={"format": "pt"})


class RouterMargins:
    """Forward hooks on the MoE routers that record the smallest margin of any routing decision."""

    def __init__(self, model):
        self.min_margin = float("inf")  # margin / MIN_ROUTE_MARGIN of the router kind: >= 1 passes
        self.handles = []
        for module in model.modules():
            if type(module).__name__ in ("Qwen3MoeTopKRouter", "Glm4MoeTopkRouter"):
                self.handles.append(module.register_forward_hook(self.hook))

    def hook(self, module, inputs, output):
        logits = output[0].float()
        k = module.top_k
        if hasattr(module, "e_score_correction_bias"):
            choice = logits.sigmoid() + module.e_score_correction_bias.float()
            groups, keep, unit = module.num_group, module.topk_group, MIN_ROUTE_MARGIN["sigmoid"]
        else:
            choice, groups, keep = logits, 1, 1  # softmax is monotonic: compare logits
            unit = MIN_ROUTE_MARGIN["softmax"]
        n, e = choice.shape
        if groups > 1:
            group_scores = choice.view(n, groups, e // groups).topk(2, dim=-1)[0].sum(-1)
            top = group_scores.topk(keep + 1 if keep < groups else keep, dim=-1)[0]
            if keep < groups:
                self.min_margin = min(self.min_margin, float((top[:, keep - 1] - top[:, keep]).min()) / unit)
            kept = group_scores.topk(keep, dim=-1)[1]
            mask = torch.zeros(n, groups, dtype=torch.bool).scatter_(1, kept, True)
            choice = choice.masked_fill(~mask.repeat_interleave(e // groups, dim=1), float("-inf"))
        eligible = int((choice[0] > float("-inf")).sum())
        if k < eligible:
            top = choice.topk(k + 1, dim=-1)[0]
            self.min_margin = min(self.min_margin, float((top[:, k - 1] - top[:, k]).min()) / unit)

    def remove(self):
        for h in self.handles:
            h.remove()


def rewrite_config_v4(path: Path) -> None:
    """Rewrite config.json in the transformers-4.x spelling: rope_theta / rope_scaling at top level
    instead of rope_parameters, torch_dtype instead of dtype."""
    cfg = json.loads(path.read_text())
    rope = dict(cfg.pop("rope_parameters"))
    cfg["rope_theta"] = rope.pop("rope_theta")
    rope_type = rope.get("rope_type", "default")
    cfg["rope_scaling"] = None if rope_type == "default" else rope
    cfg["torch_dtype"] = cfg.pop("dtype")
    cfg.pop("layer_types", None)  # 4.x Qwen2 configs predate layer_types
    cfg["transformers_version"] = "4.51.3"
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


@torch.no_grad()
def full_logprobs(model, ids: list[int]) -> torch.Tensor:
    out = model(torch.tensor([ids]), use_cache=False)
    return torch.log_softmax(out.logits[0].float(), dim=-1)


def margin(row: torch.Tensor) -> float:
    top = torch.topk(row, 2).values
    return float(top[0] - top[1])


@torch.no_grad()
def greedy(model, ids: list[int]) -> tuple[list[int], list[float], float]:
    """Argmax decoding by full recomputation (no KV cache): the plainest reference."""
    seq = list(ids)
    chosen_lp, margins = [], []
    for _ in range(GREEDY_TOKENS):
        lp = full_logprobs(model, seq)[-1]
        t = int(torch.argmax(lp))
        chosen_lp.append(float(lp[t]))
        margins.append(margin(lp))
        seq.append(t)
    return seq[len(ids):], chosen_lp, min(margins)


def build_model(name, model_cls, config_cls, kwargs, opts, tok, vocab_real, seed_base):
    folder = OUT / name
    special_ids = {tok.token_to_id(s) for s in SPECIAL_TOKENS}
    eos = tok.token_to_id("<|endoftext|>")
    prompt_ids = [tok.encode(p).ids for p in PROMPTS]
    for attempt in range(MAX_SEED_TRIES):
        seed = seed_base + attempt
        config = config_cls(**kwargs, max_position_embeddings=512, initializer_range=WEIGHT_STD,
                            bos_token_id=None, eos_token_id=eos, pad_token_id=None)
        torch.manual_seed(seed)
        model = model_cls(config).float()
        randomize(model, seed)
        if config.tie_word_embeddings:
            assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
        model = model.to(torch.bfloat16)
        keep_correction_bias_f32(model)
        if folder.exists():
            shutil.rmtree(folder)
        model.save_pretrained(folder, max_shard_size=opts.get("max_shard_size", "50GB"),
                              save_original_format=opts.get("save_original_format", True))
        if opts.get("mtp_layers"):
            append_mtp_layers(folder, config, opts["mtp_layers"])
        GenerationConfig(eos_token_id=eos, bos_token_id=None, pad_token_id=eos,
                         do_sample=False).save_pretrained(folder)
        tok.save(str(folder / "tokenizer.json"))
        if opts.get("v4_config"):
            rewrite_config_v4(folder / "config.json")

        # Reference: reload from disk (so the on-disk config is what is tested), then float32.
        ref_model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.bfloat16, attn_implementation="eager").float().eval()
        prompts, blob, ok, why = [], [], True, ""
        for text, ids in zip(PROMPTS, prompt_ids):
            lp = full_logprobs(ref_model, ids)
            cont, cont_lp, min_m = greedy(ref_model, ids)
            # Every routing decision along prompt + greedy path (causal: one pass covers them all).
            routers = RouterMargins(ref_model)
            full_logprobs(ref_model, ids + cont)
            routers.remove()
            route_margin = routers.min_margin
            # Cross-check against transformers' own generate() with its KV cache.
            gen = ref_model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=GREEDY_TOKENS,
                                     min_new_tokens=0, eos_token_id=None, pad_token_id=eos)
            gen_ids = gen[0, len(ids):].tolist()
            if min_m < MIN_MARGIN:
                ok, why = False, f"margin {min_m:.2e}"
            elif special_ids & set(cont):
                ok, why = False, "greedy path emits a special token"
            elif gen_ids != cont:
                ok, why = False, "generate() disagrees with full recomputation"
            elif route_margin < 1:
                ok, why = False, f"router margin {route_margin:.2f} x MIN_ROUTE_MARGIN"
            prompts.append({
                "text": text,
                "ids": ids,
                "logprobs_offset": sum(b.size for b in blob),
                "num_positions": len(ids),
                "min_margin_prompt": round(min(margin(r) for r in lp), 6),
                "greedy": cont,
                "greedy_logprobs": [round(x, 6) for x in cont_lp],
                "min_margin": round(min_m, 6),
                # smallest router margin in units of MIN_ROUTE_MARGIN for the router kind (>= 1)
                **({"min_route_margin": round(route_margin, 3)} if route_margin != float("inf") else {}),
            })
            blob.append(lp.numpy().astype("<f4"))
        if ok:
            break
        print(f"  {name}: seed {seed} rejected ({why}), redrawing", file=sys.stderr)
    else:
        raise SystemExit(f"{name}: no seed in {MAX_SEED_TRIES} tries gave margin >= {MIN_MARGIN}")

    np.concatenate([b.reshape(-1) for b in blob]).tofile(folder / "logprobs.f32")
    cfg = ref_model.config
    ref = {
        "model": name,
        "architecture": type(ref_model).__name__,
        "seed": seed,
        "vocab_size": cfg.vocab_size,
        "tokenizer_size": vocab_real,
        "logprobs_file": "logprobs.f32",
        "logprobs_layout": "little-endian float32, row-major [num_positions, vocab_size] per prompt, "
                           "prompt i starting at element logprobs_offset",
        "prompts": prompts,
    }
    (folder / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    shape = dict(hidden=cfg.hidden_size, layers=cfg.num_hidden_layers, heads=cfg.num_attention_heads,
                 kv_heads=cfg.num_key_value_heads, head_dim=getattr(cfg, "head_dim", None),
                 tied=cfg.tie_word_embeddings)
    print(f"{name}: seed {seed}, {shape}, min margins "
          f"{[p['min_margin'] for p in prompts]}, prompt lengths {[len(p['ids']) for p in prompts]}")


def main():
    torch.set_num_threads(max(1, torch.get_num_threads()))
    OUT.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer()
    again = train_tokenizer()
    assert tok.to_str() == again.to_str(), "tokenizer training is not deterministic"
    vocab_real = tok.get_vocab_size()
    tok.save(str(OUT / "tokenizer.json"))
    for text in PROMPTS:
        assert tok.decode(tok.encode(text).ids) == text, "tokenizer does not round-trip"
    print(f"tokenizer: {vocab_real} tokens; prompt lengths {[len(tok.encode(p).ids) for p in PROMPTS]}")
    only = set(sys.argv[1:])  # optional model names: rebuild only those (seeds do not depend on order)
    for i, (name, mcls, ccls, kwargs, opts) in enumerate(model_specs(vocab_real)):
        if only and name not in only:
            continue
        build_model(name, mcls, ccls, kwargs, opts, tok, vocab_real, seed_base=1000 * (i + 1))


if __name__ == "__main__":
    main()
