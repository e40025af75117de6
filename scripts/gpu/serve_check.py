"""`osprey serve --device cuda` over HTTP on the GPU machine (no openai package needed there):
plain and streamed completions agree, sampled requests with a seed repeat, logprobs come back,
and a bad request gets a 400 while the server keeps serving. Exits non-zero on any failure."""
import json, sys, urllib.error, urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"
failures = []

def post(path, body):
    req = urllib.request.Request(BASE + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()

def expect(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        failures.append(what)

model = json.loads(urllib.request.urlopen(BASE + "/v1/models", timeout=10).read())["data"][0]["id"]
base = {"model": model, "prompt": "The quick brown fox", "max_tokens": 16, "temperature": 0, "ignore_eos": True}
plain = json.loads(post("/v1/completions", base))
expect(plain["usage"]["completion_tokens"] == 16, "greedy completion of 16 tokens")
events = [l[6:] for l in post("/v1/completions", dict(base, stream=True)).splitlines() if l.startswith("data: ")]
streamed = "".join(json.loads(e)["choices"][0]["text"] for e in events if e != "[DONE]")
expect(events[-1] == "[DONE]" and streamed == plain["choices"][0]["text"], "streamed text equals the plain response")
sampled = dict(base, temperature=0.8, top_p=0.9, top_k=40, seed=7, logprobs=5, repetition_penalty=1.1)
a, b = json.loads(post("/v1/completions", sampled)), json.loads(post("/v1/completions", sampled))
expect(a["choices"][0]["text"] == b["choices"][0]["text"], "a seeded sampled request repeats")
top = a["choices"][0]["logprobs"]["top_logprobs"]
# A dict per token: the 5 most likely plus the drawn token when it is not among them (as vLLM),
# fewer when two ids decode to the same text.
expect(len(top) == 16 and all(1 <= len(t) <= 6 for t in top), "top logprobs (5, plus the drawn token) for each of 16 tokens")
try:
    post("/v1/completions", dict(base, temperature=-1))
    expect(False, "a negative temperature is refused")
except urllib.error.HTTPError as e:
    expect(e.code == 400, f"a negative temperature is refused with 400 (got {e.code})")
expect(json.loads(post("/v1/completions", base))["choices"][0]["text"] == plain["choices"][0]["text"],
       "the server still answers, unchanged, after the bad request")
print("serve-check: " + ("all passed" if not failures else f"{len(failures)} failed"))
sys.exit(1 if failures else 0)
