"""The bad-request battery, concurrency and dropped clients against a live `osprey serve`."""
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import requests

from conftest import MODEL_NAME

CHAT = [{"role": "user", "content": "Hi"}]

# (route, body or raw bytes, expected status, a word the message must contain)
BATTERY = [
    ("/v1/completions", b'{"prompt": "x", ', 400, "JSON"),
    ("/v1/completions", b'', 400, "empty"),
    ("/v1/completions", b'[1, 2, 3]', 400, "object"),
    ("/v1/completions", {"max_tokens": 3}, 400, "prompt"),
    ("/v1/completions", {"prompt": "x", "max_tokens": "ten"}, 400, "max_tokens"),
    ("/v1/completions", {"prompt": "x", "temperature": "hot"}, 400, "temperature"),
    ("/v1/completions", {"prompt": {"a": 1}}, 400, "prompt"),
    ("/v1/completions", {"prompt": "x", "temperature": -1}, 400, "temperature"),
    ("/v1/completions", {"prompt": "x", "temperature": 5}, 400, "temperature"),
    ("/v1/completions", {"prompt": "x", "top_p": 0}, 400, "top_p"),
    ("/v1/completions", {"prompt": "x", "top_k": -5}, 400, "top_k"),
    ("/v1/completions", {"prompt": "x", "n": 0}, 400, "n"),
    ("/v1/completions", {"prompt": "x", "max_tokens": 0}, 400, "max_tokens"),
    ("/v1/completions", {"prompt": "x", "max_tokens": -3}, 400, "max_tokens"),
    ("/v1/completions", {"prompt": "x", "presence_penalty": 3}, 400, "presence_penalty"),
    ("/v1/completions", {"prompt": "x", "frequency_penalty": -3}, 400, "frequency_penalty"),
    ("/v1/completions", {"prompt": "x", "repetition_penalty": 0}, 400, "repetition_penalty"),
    ("/v1/completions", {"prompt": "x", "logprobs": 100}, 400, "logprobs"),
    ("/v1/completions", {"prompt": "x", "best_of": 1, "n": 2, "temperature": 1}, 400, "best_of"),
    ("/v1/completions", {"prompt": "x", "logit_bias": {"abc": 1}}, 400, "logit_bias"),
    ("/v1/completions", {"prompt": "x", "logit_bias": {"99999999": 1}}, 400, "logit_bias"),
    ("/v1/completions", {"prompt": "x", "stop": [""]}, 400, "stop"),
    ("/v1/completions", {"prompt": "x", "stream_options": {"include_usage": True}}, 400, "stream"),
    ("/v1/completions", {"prompt": [99999999]}, 400, "vocabulary"),
    ("/v1/completions", {"prompt": []}, 400, "prompt"),
    ("/v1/completions", {"prompt": "x", "model": "no-such-model"}, 404, "no-such-model"),
    ("/v1/completions", {"prompt": "x", "max_tokens": 5000}, 400, "2048"),
    ("/v1/chat/completions", {"messages": []}, 400, "messages"),
    ("/v1/chat/completions", {}, 400, "messages"),
    ("/v1/chat/completions", {"messages": "hello"}, 400, "messages"),
    ("/v1/chat/completions", {"messages": [{"content": "x"}]}, 400, "role"),
    ("/v1/chat/completions", {"messages": [{"role": "wizard", "content": "x"}]}, 400, "wizard"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}, 400, "content"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400, "image_url"),
    ("/v1/chat/completions", {"messages": CHAT, "model": "gpt-4"}, 404, "gpt-4"),
    ("/v1/chat/completions", {"messages": CHAT, "top_logprobs": 3}, 400, "logprobs"),
    ("/v1/chat/completions", {"messages": CHAT, "logprobs": True, "top_logprobs": 50}, 400, "top_logprobs"),
    ("/v1/chat/completions", {"messages": CHAT, "tool_choice": "required", "tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "tool_choice"),
    ("/v1/chat/completions", {"messages": CHAT, "max_completion_tokens": 100000}, 400, "max_model_len"),
    ("/v1/chat/completions", {"messages": CHAT, "chat_template_kwargs": "no"}, 400, "chat_template_kwargs"),
    ("/v1/chat/completions", {"messages": CHAT, "stream": "yes"}, 400, "stream"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "continue_final_message": True}, 400, "continue_final_message"),
    ("/tokenize", {}, 400, "prompt"),
    ("/detokenize", {"tokens": "abc"}, 400, "tokens"),
    ("/detokenize", {"tokens": [-1]}, 400, "-1"),
    ("/v1/nonexistent", {}, 404, "nonexistent"),
]


@pytest.mark.parametrize("route,body,status,word", BATTERY, ids=[f"{i}-{b[0]}" for i, b in enumerate(BATTERY)])
def test_bad_request(server, route, body, status, word):
    if isinstance(body, bytes):
        r = requests.post(server.url + route, data=body, headers={"Content-Type": "application/json"})
    else:
        r = requests.post(server.url + route, json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["code"] == status
    if word == "max_model_len":
        assert re.search(r"2048", error["message"]), error["message"]
    else:
        assert word.lower() in error["message"].lower(), error["message"]


def test_prompt_over_max_model_len(server):
    r = requests.post(server.base_url + "/completions", json={"prompt": "hello " * 3000, "max_tokens": 4})
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "2048" in message and re.search(r"\b3\d{3}\b", message), message
    r = requests.post(server.base_url + "/completions", json={"prompt": "hello " * 1000, "max_tokens": 1500})
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "1500" in message and "2048" in message, message


def test_oversized_body_is_413(server):
    r = requests.post(server.base_url + "/completions", data=b'{"prompt": "' + b"a" * (33 << 20) + b'"}',
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["error"]["message"]


def test_wrong_method(server):
    r = requests.get(server.base_url + "/completions")
    assert 400 <= r.status_code < 500


def test_server_keeps_serving_after_battery(client):
    r = client.completions.create(model=MODEL_NAME, prompt="Hello", max_tokens=2)
    assert r.choices[0].text is not None


def test_errors_through_the_client(client):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=MODEL_NAME, prompt="x", temperature=-1)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="missing", messages=CHAT)


# ---------------------------------------------------------------- load

def metric(server, name):
    for line in requests.get(server.url + "/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


def test_64_concurrent_streams(server):
    def one(i):
        c = openai.OpenAI(base_url=server.base_url, api_key="x")
        chunks = list(c.chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "user", "content": f"Count to {i}"}], max_tokens=8,
            stream=True, stream_options={"include_usage": True}, extra_body={"ignore_eos": True}))
        assert chunks[-1].usage.completion_tokens == 8
        return "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(one, range(64)))
    assert len(results) == 64


def test_dropped_clients_free_kv(server):
    """Clients that hang up mid-stream abort their requests; the KV cache empties."""
    body = ('{"prompt": "Tell me a long story", "max_tokens": 1500, "ignore_eos": true, "stream": true}').encode()
    sockets = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        sockets.append(s)
    for s in sockets:
        data = b""
        while data.count(b"data: ") < 2:
            data += s.recv(4096)
    assert metric(server, "vllm:num_requests_running") > 0
    for s in sockets:
        s.close()
    deadline = time.time() + 30
    while time.time() < deadline:
        # A tiny request after the drop lets the engine publish fresh stats.
        requests.post(server.base_url + "/completions", json={"prompt": "x", "max_tokens": 1})
        if metric(server, "vllm:num_requests_running") == 0 and metric(server, "vllm:kv_cache_usage_perc") == 0:
            break
        time.sleep(0.5)
    assert metric(server, "vllm:num_requests_running") == 0
    assert metric(server, "vllm:kv_cache_usage_perc") == 0
    # 8 requests of up to 1500 tokens would take minutes on the CPU had they not been aborted.
    assert metric(server, "vllm:generation_tokens_total") < 8 * 1500
