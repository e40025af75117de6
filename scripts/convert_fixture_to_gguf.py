#!/usr/bin/env python3
"""Converts fidelity fixtures (Tests/ModelsTests/Fixtures/NAME, bf16 safetensors) to NAME/model.gguf.

A minimal converter for the mixture-of-experts architectures, written after llama.cpp's
convert_hf_to_gguf.py (Qwen3MoeModel, Glm4MoeModel) so the files have the names, layouts and
metadata llama.cpp's own converter gives: tensor names from gguf-py's tensor map, routed experts
stacked into one [experts, rows, cols] tensor per projection (`blk.N.ffn_{gate,up,down}_exps`),
GLM's `e_score_correction_bias` as `blk.N.exp_probs_b.bias`, GLM's multi-token-prediction layers
counted in `block_count` (`nextn_predict_layers` says how many), 1-D tensors and routers
(`ffn_gate_inp`) as F32, other matrices kept in BF16 (so the weights are exactly the fixture's and
its reference.json applies unchanged), no output.weight for tied embeddings, and the byte-level BPE vocabulary as `tokenizer.ggml.*`.
Beyond llama.cpp: transformers 5's fused expert tensors are split back, dense layers of a
Qwen3-MoE (which llama.cpp's qwen3moe does not have) get llama's `blk.N.ffn_{gate,up,down}` names,
and a Qwen3-MoE with norm_topk_prob false gets `qwen3moe.expert_weights_norm = false` (llama.cpp
always renormalises qwen3moe).

Usage (from the repository root; needs gguf, safetensors, numpy, torch):
    python3 scripts/convert_fixture_to_gguf.py qwen3moe-top4-fused qwen3moe-top2-norm-mlponly glm4moe-shared-bias-mtp ...
"""

import json
import re
import sys
from pathlib import Path

import gguf
import numpy as np
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "ModelsTests" / "Fixtures"

ARCHS = {
    "Qwen3MoeForCausalLM": gguf.MODEL_ARCH.QWEN3MOE,
    "Glm4MoeForCausalLM": gguf.MODEL_ARCH.GLM4_MOE,
}


def write_metadata(w: gguf.GGUFWriter, cfg: dict, arch: str, block_count: int) -> None:
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    rope = cfg.get("rope_parameters") or {}
    w.add_block_count(block_count)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(rope.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_expert_used_count(cfg["num_experts_per_tok"])
    w.add_expert_feed_forward_length(cfg["moe_intermediate_size"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    if arch == "Qwen3MoeForCausalLM":
        w.add_expert_count(cfg.get("num_experts") or cfg["num_local_experts"])  # 5.x writes num_local_experts
        # llama.cpp always renormalises qwen3moe's top-k (every published Qwen3-MoE has norm_topk_prob);
        # a fixture without it says so with the key other MoE architectures use.
        if not cfg["norm_topk_prob"]:
            w.add_expert_weights_norm(False)
    else:
        partial = rope.get("partial_rotary_factor", cfg.get("partial_rotary_factor", 0.5))
        w.add_rope_dimension_count(int(head_dim * partial))
        w.add_expert_count(cfg["n_routed_experts"])
        w.add_expert_shared_count(cfg["n_shared_experts"])
        w.add_leading_dense_block_count(cfg["first_k_dense_replace"])
        w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
        w.add_expert_weights_scale(cfg["routed_scaling_factor"])
        w.add_expert_weights_norm(cfg["norm_topk_prob"])
        w.add_nextn_predict_layers(cfg.get("num_nextn_predict_layers", 0))
        if cfg.get("n_group", 1) > 1:  # llama.cpp's converter writes these for DeepSeek-V3-style routers
            w.add_expert_group_count(cfg["n_group"])
            w.add_expert_group_used_count(cfg["topk_group"])


def write_vocabulary(w: gguf.GGUFWriter, folder: Path, eos: int) -> None:
    tok = json.loads((folder / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    types = [gguf.TokenType.NORMAL] * len(tokens)
    for added in tok["added_tokens"]:
        types[added["id"]] = gguf.TokenType.CONTROL if added["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")  # the GPT-2 regex, as the fixture tokenizer's ByteLevel pre-tokenizer
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(eos)


def convert(name: str) -> None:
    folder = FIXTURES / name
    cfg = json.loads((folder / "config.json").read_text())
    arch_name = cfg["architectures"][0]
    arch = ARCHS[arch_name]
    nextn = cfg.get("num_nextn_predict_layers", 0) if arch_name == "Glm4MoeForCausalLM" else 0
    block_count = cfg["num_hidden_layers"] + nextn
    tensors = load_file(folder / "model.safetensors")
    if cfg.get("tie_word_embeddings"):
        tensors.pop("lm_head.weight", None)

    # Stack routed experts as llama.cpp does: experts.{e}.{proj}.weight -> experts.{proj}.weight [E, ...].
    stacked: dict[str, torch.Tensor] = {}
    per_expert = re.compile(r"^(model\.layers\.\d+\.mlp\.experts)\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")
    groups: dict[tuple[str, str], dict[int, torch.Tensor]] = {}
    for key, t in tensors.items():
        m = per_expert.match(key)
        if m:
            groups.setdefault((m.group(1), m.group(3)), {})[int(m.group(2))] = t
        elif key.endswith("mlp.experts.gate_up_proj"):  # transformers 5's fused layout [E, 2I, H]
            gate, up = t.chunk(2, dim=1)
            stacked[key.replace("gate_up_proj", "gate_proj.weight")] = gate
            stacked[key.replace("gate_up_proj", "up_proj.weight")] = up
        elif key.endswith("mlp.experts.down_proj"):
            stacked[key + ".weight"] = t
        else:
            stacked[key] = t
    for (prefix, proj), experts in groups.items():
        stacked[f"{prefix}.{proj}.weight"] = torch.stack([experts[e] for e in range(len(experts))])

    names = gguf.get_tensor_name_map(arch, block_count)
    # llama.cpp's qwen3moe has no dense layers (mlp_only_layers, decoder_sparse_step); name their
    # MLPs as llama does (blk.N.ffn_gate/up/down), which is what Osprey reads for a layer without a router.
    dense_names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, block_count)
    w = gguf.GGUFWriter(folder / "model.gguf", gguf.MODEL_ARCH_NAMES[arch])
    w.add_name(name)
    write_metadata(w, cfg, arch_name, block_count)
    write_vocabulary(w, folder, cfg["eos_token_id"])
    for key in sorted(stacked):
        t = stacked[key]
        if t.numel() == 0:  # n_shared_experts 0: transformers keeps zero-size shared_experts tensors
            continue
        hf = key.replace("e_score_correction_bias", "e_score_correction.bias")
        target = names.get_name(hf, try_suffixes=(".weight", ".bias"))
        if target is None and re.search(r"\.mlp\.(gate|up|down)_proj\.weight$", hf):
            target = dense_names.get_name(hf, try_suffixes=(".weight",))
        if target is None:
            raise SystemExit(f"{name}: no GGUF name for {key}")
        if t.dim() == 1 or ".ffn_gate_inp." in target:  # llama.cpp keeps vectors and routers in F32
            w.add_tensor(target, t.float().numpy())
        else:
            bits = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
            w.add_tensor(target, bits, raw_dtype=gguf.GGMLQuantizationType.BF16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{name}: {len(stacked)} tensors, block_count {block_count} -> {folder / 'model.gguf'}")


def main():
    for name in sys.argv[1:]:
        convert(name)


if __name__ == "__main__":
    main()
