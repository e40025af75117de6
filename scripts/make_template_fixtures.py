#!/usr/bin/env python3
"""Regenerate the chat-template golden fixtures in Tests/TemplatesTests/Fixtures.

Every template in Fixtures/templates is rendered against every applicable
conversation of Fixtures/conversations.json and every variant (tools on/off,
add_generation_prompt on/off, enable_thinking unset/true/false where the template
reads it), through transformers' own chat-template machinery
(`transformers.utils.chat_template_utils.render_jinja_template`, the function that
`PreTrainedTokenizerBase.apply_chat_template` calls). The results are written to
Fixtures/expected/<template>__<case>.txt (UTF-8, no added newline) and described
in Fixtures/manifest.json. See Fixtures/README.md for the manifest format.

Usage: python3 scripts/make_template_fixtures.py [--check]
  --check  render everything and compare with the files on disk; write nothing,
           exit 1 on any difference.
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

import jinja2
import transformers
from transformers.utils.chat_template_utils import _compile_jinja_template, render_jinja_template

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "TemplatesTests" / "Fixtures"

# The moment `strftime_now` sees. transformers' own strftime_now returns datetime.now().strftime(fmt);
# the fixtures pin it so that templates printing today's date (Llama 3.2) are reproducible.
FIXED_NOW = datetime.datetime(2025, 1, 15, 12, 0, 0)

# name -> (bos_token, eos_token) as the model's tokenizer_config.json declares them (None: not declared,
# so the variable is not passed and is undefined in the template).
TEMPLATES = {
    "qwen3": (None, "<|im_end|>"),
    "qwen3-initial": (None, "<|im_end|>"),
    "qwen3-thinking-2507": (None, "<|im_end|>"),
    "qwq-32b": (None, "<|im_end|>"),
    "qwen2.5-instruct": (None, "<|im_end|>"),
    "deepseek-r1-distill-qwen": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "glm-4.5": (None, "<|endoftext|>"),
    "llama3.1-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3.2-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "smollm2-instruct": ("<|im_start|>", "<|im_end|>"),
    "mistral-nemo-instruct": ("<s>", "</s>"),
    "mistral-7b-instruct-v0.3": ("<s>", "</s>"),
}


def fixed_strftime_now(fmt):
    return FIXED_NOW.strftime(fmt)


def render(source, messages, tools, add_generation_prompt, kwargs):
    """Render like tokenizer.apply_chat_template(..., tokenize=False) would."""
    compiled = _compile_jinja_template(source)  # cached: the same object render_jinja_template uses
    compiled.environment.globals["strftime_now"] = fixed_strftime_now
    # apply_chat_template drops keys whose value is None before rendering
    messages = [{k: v for k, v in m.items() if v is not None} for m in messages]
    rendered, _ = render_jinja_template(
        conversations=[messages],
        tools=tools,
        chat_template=source,
        add_generation_prompt=add_generation_prompt,
        **kwargs,
    )
    return rendered[0]


def build_cases():
    conv_doc = json.loads((FIXTURES / "conversations.json").read_text(encoding="utf-8"))
    tools_list = conv_doc["tools"]
    cases = []
    for tname, (bos, eos) in TEMPLATES.items():
        tpath = FIXTURES / "templates" / f"{tname}.jinja"
        source = tpath.read_text(encoding="utf-8")
        thinking_values = [None, True, False] if "enable_thinking" in source else [None]
        for conv in conv_doc["conversations"]:
            if "templates" in conv and tname not in conv["templates"]:
                continue
            for with_tools in conv["tool_variants"]:
                for agp in (True, False):
                    for thinking in thinking_values:
                        parts = [conv["id"], "tools" if with_tools else "notools", "gen" if agp else "nogen"]
                        kwargs = {}
                        if bos is not None:
                            kwargs["bos_token"] = bos
                        if eos is not None:
                            kwargs["eos_token"] = eos
                        extra = {}
                        if thinking is not None:
                            extra["enable_thinking"] = thinking
                            parts.append("think-on" if thinking else "think-off")
                        case = "__".join(parts)
                        entry = {
                            "name": f"{tname}__{case}",
                            "template": f"templates/{tname}.jinja",
                            "conversation": conv["id"],
                            "tools": with_tools,
                            "add_generation_prompt": agp,
                            "kwargs": extra,
                            "bos_token": bos,
                            "eos_token": eos,
                        }
                        try:
                            out = render(source, conv["messages"], tools_list if with_tools else None, agp,
                                         {**kwargs, **extra})
                            entry["expected"] = f"expected/{tname}__{case}.txt"
                            entry["_text"] = out
                        except Exception as e:  # noqa: BLE001 - any failure is a recorded expectation
                            if type(e) is jinja2.exceptions.TemplateError:
                                kind = "raise_exception"
                            else:
                                kind = type(e).__name__
                            entry["expected_error"] = str(e)
                            entry["error_kind"] = kind
                        cases.append(entry)
    return cases


def sanity(cases):
    problems = []
    by_name = {c["name"]: c for c in cases}
    for c in cases:
        if "_text" in c and not c["_text"]:
            problems.append(f"empty output: {c['name']}")
    # enable_thinking must change Qwen3's generation prompt and GLM's user turns / generation prompt
    for t in ("qwen3", "qwen3-initial", "glm-4.5"):
        for conv in ("system_user", "multi_turn", "user_only"):
            on = by_name.get(f"{t}__{conv}__notools__gen__think-on")
            off = by_name.get(f"{t}__{conv}__notools__gen__think-off")
            unset = by_name.get(f"{t}__{conv}__notools__gen")
            if not (on and off and unset):
                problems.append(f"missing thinking variants for {t}/{conv}")
                continue
            if on.get("_text") == off.get("_text"):
                problems.append(f"thinking on/off render the same: {t}/{conv}")
            if on.get("_text") != unset.get("_text"):
                problems.append(f"enable_thinking=true differs from unset: {t}/{conv}")
    # add_generation_prompt must matter for a conversation ending in a user turn, where the template reads it
    conv_doc = json.loads((FIXTURES / "conversations.json").read_text(encoding="utf-8"))
    last_role = {cv["id"]: cv["messages"][-1]["role"] for cv in conv_doc["conversations"]}
    for c in cases:
        source = (FIXTURES / c["template"]).read_text(encoding="utf-8")
        if "add_generation_prompt" not in source:
            continue
        if c["add_generation_prompt"] and "_text" in c and last_role[c["conversation"]] == "user":
            other = by_name.get(c["name"].replace("__gen", "__nogen"))
            if other and other.get("_text") == c["_text"]:
                problems.append(f"add_generation_prompt has no effect: {c['name']}")
    for t in TEMPLATES:
        a = by_name.get(f"{t}__system_user__tools__gen")
        b = by_name.get(f"{t}__system_user__notools__gen")
        if a and b and "_text" in a and a.get("_text") == b.get("_text"):
            print(f"note: tools do not change {t}'s rendering (template ignores tools)")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    cases = build_cases()
    problems = sanity(cases)

    manifest = {
        "format": 1,
        "generator": "scripts/make_template_fixtures.py",
        "transformers_version": transformers.__version__,
        "jinja2_version": jinja2.__version__,
        "strftime_now": FIXED_NOW.isoformat(),
        "conversations": "conversations.json",
        "cases": [{k: v for k, v in c.items() if k != "_text"} for c in cases],
    }
    manifest_text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"

    expected_dir = FIXTURES / "expected"
    diffs = []
    if args.check:
        for c in cases:
            if "_text" in c:
                p = FIXTURES / c["expected"]
                if not p.exists() or p.read_bytes() != c["_text"].encode("utf-8"):
                    diffs.append(c["expected"])
        if (FIXTURES / "manifest.json").read_text(encoding="utf-8") != manifest_text:
            diffs.append("manifest.json")
    else:
        expected_dir.mkdir(parents=True, exist_ok=True)
        for old in expected_dir.glob("*.txt"):
            old.unlink()
        for c in cases:
            if "_text" in c:
                (FIXTURES / c["expected"]).write_bytes(c["_text"].encode("utf-8"))
        (FIXTURES / "manifest.json").write_text(manifest_text, encoding="utf-8")

    # summary
    per = {}
    for c in cases:
        t = c["template"].split("/")[-1][: -len(".jinja")]
        ok, err = per.get(t, (0, 0))
        per[t] = (ok + ("_text" in c), err + ("_text" not in c))
    total_bytes = sum(len(c["_text"].encode("utf-8")) for c in cases if "_text" in c)
    for t, (ok, err) in per.items():
        print(f"{t:28s} {ok + err:4d} cases ({ok} rendered, {err} expected errors)")
    print(f"total: {len(cases)} cases, {total_bytes} bytes of expected output")
    for p in problems:
        print("SANITY:", p)
    for d in diffs:
        print("DIFFERS:", d)
    return 1 if (problems or diffs) else 0


if __name__ == "__main__":
    sys.exit(main())
