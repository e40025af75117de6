"""End-to-end tests of `osprey serve` with the official `openai` client and raw HTTP."""
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import requests

from conftest import API_KEY, MODEL_NAME

CHAT = [{"role": "user", "content": "What is the capital of France?"}]


# ---------------------------------------------------------------- basic routes

def test_health_version_models(server):
    assert requests.get(server.url + "/health").status_code == 200
    assert "version" in requests.get(server.url + "/version").json()
    models = requests.get(server.base_url + "/models").json()
    assert models["object"] == "list"
    card = models["data"][0]
    assert card["id"] == MODEL_NAME and card["object"] == "model" and card["max_model_len"] == 2048
    for key in ("created", "owned_by", "root", "parent", "permission"):
        assert key in card


def test_models_with_client(client):
    assert [m.id for m in client.models.list()] == [MODEL_NAME]


def test_tokenize_detokenize(server):
    r = requests.post(server.url + "/tokenize", json={"prompt": "Hello world"}).json()
    assert r["count"] == len(r["tokens"]) > 0 and r["max_model_len"] == 2048
    back = requests.post(server.url + "/detokenize", json={"tokens": r["tokens"]}).json()
    assert back["prompt"] == "Hello world"
    chat = requests.post(server.url + "/tokenize", json={"messages": CHAT, "return_token_strs": True}).json()
    assert chat["count"] > r["count"] and len(chat["token_strs"]) == chat["count"]


def test_openapi_and_docs(server):
    spec = requests.get(server.url + "/openapi.json").json()
    for path in ("/v1/models", "/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize",
                 "/health", "/version", "/metrics"):
        assert path in spec["paths"]
    page = requests.get(server.url + "/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<script src" not in page.text and "cdn" not in page.text.lower()


def test_metrics_names(server, client):
    client.completions.create(model=MODEL_NAME, prompt="Hi", max_tokens=2)
    text = requests.get(server.url + "/metrics").text
    for name in ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                 "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:prefix_cache_hits_total",
                 "vllm:time_to_first_token_seconds_bucket", "vllm:time_per_output_token_seconds_bucket",
                 "vllm:e2e_request_latency_seconds_bucket", "vllm:request_success_total"):
        assert name in text, name


# ---------------------------------------------------------------- completions

def test_completion(client):
    r = client.completions.create(model=MODEL_NAME, prompt="The capital of France is", max_tokens=5, temperature=0)
    assert r.object == "text_completion" and len(r.choices) == 1
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 5 and r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_completion_greedy_is_deterministic_and_matches_stream(client):
    kw = dict(model=MODEL_NAME, prompt="Once upon a time", max_tokens=8, temperature=0)
    a = client.completions.create(**kw).choices[0].text
    b = client.completions.create(**kw).choices[0].text
    streamed = "".join(c.choices[0].text for c in client.completions.create(stream=True, **kw) if c.choices)
    assert a == b == streamed


def test_completion_default_model_and_max_tokens(server):
    r = requests.post(server.base_url + "/completions", json={"prompt": "Hello", "ignore_eos": True}).json()
    assert r["model"] == MODEL_NAME and r["usage"]["completion_tokens"] == 16  # vLLM's default max_tokens


def test_completion_prompt_lists_and_token_ids(client, server):
    ids = requests.post(server.url + "/tokenize", json={"prompt": "The capital of France is"}).json()["tokens"]
    by_text = client.completions.create(model=MODEL_NAME, prompt="The capital of France is", max_tokens=4, temperature=0)
    by_ids = client.completions.create(model=MODEL_NAME, prompt=ids, max_tokens=4, temperature=0)
    assert by_ids.choices[0].text == by_text.choices[0].text
    many = client.completions.create(model=MODEL_NAME, prompt=[ids, ids[:3]], max_tokens=3, temperature=0)
    assert sorted(c.index for c in many.choices) == [0, 1]
    strings = client.completions.create(model=MODEL_NAME, prompt=["a", "b", "c"], max_tokens=2, temperature=0)
    assert sorted(c.index for c in strings.choices) == [0, 1, 2]


def test_completion_n(client):
    r = client.completions.create(model=MODEL_NAME, prompt="Hello", max_tokens=4, n=3, temperature=1.0, seed=1,
                                  extra_body={"ignore_eos": True})
    assert sorted(c.index for c in r.choices) == [0, 1, 2]
    assert r.usage.completion_tokens == 12
    chunks = list(client.completions.create(model=MODEL_NAME, prompt="Hello", max_tokens=3, n=2, temperature=1.0,
                                            stream=True, extra_body={"ignore_eos": True}))
    assert {c.choices[0].index for c in chunks if c.choices} == {0, 1}


def test_completion_stop(client):
    base = client.completions.create(model=MODEL_NAME, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0).choices[0].text
    word = base.strip().split()[0] if base.strip() else None
    if not word:
        pytest.skip("model produced no text")
    r = client.completions.create(model=MODEL_NAME, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0, stop=[word])
    assert word not in r.choices[0].text
    assert r.choices[0].finish_reason == "stop"


def test_completion_echo(client):
    r = client.completions.create(model=MODEL_NAME, prompt="Paris is", max_tokens=3, temperature=0, echo=True)
    assert r.choices[0].text.startswith("Paris is")
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model=MODEL_NAME, prompt="Paris is", max_tokens=3, temperature=0, echo=True, stream=True) if c.choices)
    assert streamed == r.choices[0].text


def test_completion_logprobs(client):
    lp = client.completions.create(model=MODEL_NAME, prompt="Paris is", max_tokens=3, temperature=0, logprobs=2)
    logprobs = lp.choices[0].logprobs
    assert len(logprobs.tokens) == len(logprobs.token_logprobs) == lp.usage.completion_tokens
    assert all(v <= 0 for v in logprobs.token_logprobs)
    # Greedy: the sampled token ranks first, so it is in its position's top 2 with the largest value.
    for token, value, top in zip(logprobs.tokens, logprobs.token_logprobs, logprobs.top_logprobs):
        assert token in top and abs(top[token] - value) < 1e-6 and max(top.values()) == top[token]


def test_completion_stream_usage(client):
    chunks = list(client.completions.create(model=MODEL_NAME, prompt="Hello", max_tokens=4, stream=True,
                                            stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert 0 < chunks[-1].usage.completion_tokens <= 4
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_raw_sse_framing(server):
    with requests.post(server.base_url + "/completions", stream=True,
                       json={"prompt": "Hi", "max_tokens": 3, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [l for l in r.iter_lines() if l]
    assert all(l.startswith(b"data: ") for l in lines)
    assert lines[-1] == b"data: [DONE]"
    for l in lines[:-1]:
        assert json.loads(l[6:])["object"] == "text_completion"


# ---------------------------------------------------------------- chat

def test_chat(client):
    r = client.chat.completions.create(model=MODEL_NAME, messages=CHAT, max_tokens=8, temperature=0)
    assert r.object == "chat.completion"
    m = r.choices[0].message
    assert m.role == "assistant" and isinstance(m.content, str) and len(m.content) > 0
    assert r.usage.completion_tokens <= 8


def test_chat_stream_matches_non_stream(client):
    kw = dict(model=MODEL_NAME, messages=CHAT, max_tokens=8, temperature=0)
    full = client.chat.completions.create(**kw).choices[0].message.content
    chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kw))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full
    assert chunks[-1].usage.completion_tokens > 0 and chunks[-1].choices == []
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes in (["stop"], ["length"])


def test_chat_max_completion_tokens_and_parts(client):
    r = client.chat.completions.create(
        model=MODEL_NAME, max_completion_tokens=3, temperature=0, extra_body={"ignore_eos": True},
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Say"}, {"type": "text", "text": "hello"}]}])
    assert r.usage.completion_tokens == 3 and r.choices[0].finish_reason == "length"


def test_chat_n_and_logprobs(client):
    r = client.chat.completions.create(model=MODEL_NAME, messages=CHAT, max_tokens=4, n=2, temperature=0.8,
                                       logprobs=True, top_logprobs=3)
    assert sorted(c.index for c in r.choices) == [0, 1]
    for c in r.choices:
        assert c.logprobs is not None and len(c.logprobs.content) >= 1
        entry = c.logprobs.content[0]
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3


def test_chat_stop(client):
    full = client.chat.completions.create(model=MODEL_NAME, messages=CHAT, max_tokens=10, temperature=0).choices[0].message.content
    word = full.split()[1] if len(full.split()) > 1 else None
    if not word:
        pytest.skip("model answered in one word")
    r = client.chat.completions.create(model=MODEL_NAME, messages=CHAT, max_tokens=10, temperature=0, stop=[word])
    assert word not in r.choices[0].message.content and r.choices[0].finish_reason == "stop"


def test_chat_echo_and_continue_final_message(client):
    messages = CHAT + [{"role": "assistant", "content": "The capital of France is"}]
    r = client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=4, temperature=0,
                                       extra_body={"continue_final_message": True, "add_generation_prompt": False,
                                                   "echo": True})
    assert r.choices[0].message.content.startswith("The capital of France is")


def test_chat_template_kwargs_enable_thinking(server, client):
    # SmolLM2's template ignores enable_thinking; it must be accepted and reach the template.
    r = client.chat.completions.create(model=MODEL_NAME, messages=CHAT, max_tokens=4, temperature=0,
                                       extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert r.choices[0].message.content is not None
    tok = requests.post(server.url + "/tokenize", json={"messages": CHAT, "chat_template_kwargs": {"enable_thinking": False}})
    assert tok.status_code == 200


def test_tools_without_auto_tool_choice_is_400(server):
    r = requests.post(server.base_url + "/chat/completions", json={
        "messages": CHAT, "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})
    assert r.status_code == 400 and "enable-auto-tool-choice" in r.json()["error"]["message"]
    ok = requests.post(server.base_url + "/chat/completions", json={
        "messages": CHAT, "max_tokens": 2, "tool_choice": "none",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})
    assert ok.status_code == 200


# ---------------------------------------------------------------- API key

def test_api_key(keyed_server):
    url = keyed_server.base_url + "/models"
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
    assert requests.get(keyed_server.url + "/health").status_code == 200  # outside /v1: open
    good = openai.OpenAI(base_url=keyed_server.base_url, api_key=API_KEY)
    assert good.completions.create(model=MODEL_NAME, prompt="Hi", max_tokens=2).choices
    bad = openai.OpenAI(base_url=keyed_server.base_url, api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.completions.create(model=MODEL_NAME, prompt="Hi", max_tokens=2)


def test_no_key_needed_without_api_key(server):
    assert requests.get(server.base_url + "/models", headers={"Authorization": "Bearer anything"}).status_code == 200


# ---------------------------------------------------------------- shutdown

def test_sigterm_drains_in_flight_stream():
    """SIGTERM mid-stream: the stream still runs to [DONE], then the server exits 0."""
    from conftest import Server
    s = Server()
    with requests.post(s.base_url + "/completions", stream=True,
                       json={"prompt": "Once", "max_tokens": 24, "ignore_eos": True, "stream": True}) as r:
        lines = r.iter_lines()
        first = next(l for l in lines if l)
        assert first.startswith(b"data: ")
        s.process.terminate()
        rest = [l for l in lines if l]
    assert rest[-1] == b"data: [DONE]"
    texts = [first] + [l for l in rest if l.startswith(b"data: {")]
    assert len(texts) == 24
    assert s.process.wait(timeout=60) == 0
    s.log.close()
