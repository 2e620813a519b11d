"""`enclava proxy` through the real `openai` Python package (a client nobody here wrote).

Packages all-MiniLM-L6-v2 and the fraud model, serves both from one `enclava serve --image … --image …`, starts
`enclava proxy` in front of it, then calls `client.embeddings.create(model=…, input=[…])` with `base_url` at the
proxy and compares the vectors with `enclava infer --model … --text … --json` for the same texts.
Run by `make test-openai` (part of `make test`); ENCLAVA_BIN names the folder of the built binaries.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
BIN = Path(os.environ.get("ENCLAVA_BIN", ROOT / ".build" / "debug"))
TEXTS = ["The enclave keeps the data private.", "A quick brown fox jumps over the lazy dog."]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enclava(env, *args, timeout=300):
    result = subprocess.run([str(BIN / "enclava"), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"enclava {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def start(env, args, ready, stdout_path, timeout=180):
    """Starts `enclava ARGS`, returns it once `ready` is on its standard output."""
    out = open(stdout_path, "w+")
    process = subprocess.Popen([str(BIN / "enclava"), *args], env=env, stdout=out, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out.seek(0)
        if ready in out.read():
            return process, out
        if process.poll() is not None:
            raise RuntimeError(f"enclava {args[0]} exited early: {process.stderr.read()}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"enclava {args[0]} did not become ready in {timeout} s")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def served():
    work = Path(tempfile.mkdtemp(prefix="enclava-openai-"))
    env = dict(os.environ, ENCLAVA_HOME=str(work / "home"))
    processes = []
    try:
        enclava(env, "sim", "init")
        enclava(env, "keygen", "--out", str(work / "signer.pem"))
        minilm, fraud, policy = work / "minilm.eimg", work / "fraud.eimg", work / "policy.json"
        enclava(env, "package", "--manifest", str(ROOT / "Manifests/minilm.toml"),
                "--asset-root", str(SHARED / "models/all-MiniLM-L6-v2"),
                "--signer", str(work / "signer.pem"), "--out", str(minilm), "--seal-for", "sim")
        enclava(env, "package", "--manifest", str(ROOT / "Manifests/fraud-detector/manifest.toml"),
                "--signer", str(work / "signer.pem"), "--out", str(fraud), "--seal-for", "sim")
        enclava(env, "policy", "create", "--image", str(minilm), "--image", str(fraud), "--allow-simulation",
                "--out", str(policy))
        bridge = free_port()
        serve, _ = start(env, ["serve", "--image", str(minilm), "--image", str(fraud), "--listen", f"127.0.0.1:{bridge}"],
                         "enclava serve: ready on", work / "serve.out")
        processes.append(serve)
        port = free_port()
        proxy, _ = start(env, ["proxy", "--endpoint", f"127.0.0.1:{bridge}", "--policy", str(policy),
                               "--listen", f"127.0.0.1:{port}"], "enclava proxy: ready on", work / "proxy.out")
        processes.append(proxy)
        yield {"env": env, "bridge": bridge, "policy": policy,
               "client": openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="not-used", max_retries=0)}
    finally:
        for process in reversed(processes):
            stop(process)
            if process.stderr:
                process.stderr.close()
        shutil.rmtree(work, ignore_errors=True)


def cli_embeddings(served, texts):
    args = ["infer", "--endpoint", f"127.0.0.1:{served['bridge']}", "--policy", str(served["policy"]),
            "--model", "minilm-embeddings", "--json"]
    for text in texts:
        args += ["--text", text]
    tensor = json.loads(enclava(served["env"], *args))["outputs"]["embeddings"]
    width = tensor["shape"][1]
    return [tensor["data"][i * width:(i + 1) * width] for i in range(tensor["shape"][0])]


def test_embeddings_match_the_cli(served):
    response = served["client"].embeddings.create(model="minilm-embeddings", input=TEXTS)
    assert response.object == "list"
    assert response.model == "minilm-embeddings"
    assert [item.index for item in response.data] == [0, 1]
    expected = cli_embeddings(served, TEXTS)
    for item, reference in zip(response.data, expected):
        assert len(item.embedding) == 384
        assert max(abs(a - b) for a, b in zip(item.embedding, reference)) < 1e-6


def test_float_encoding_and_a_single_string(served):
    response = served["client"].embeddings.create(model="minilm-embeddings", input=TEXTS[0], encoding_format="float")
    assert len(response.data) == 1
    reference = cli_embeddings(served, TEXTS[:1])[0]
    assert max(abs(a - b) for a, b in zip(response.data[0].embedding, reference)) < 1e-6


def test_an_unknown_model_is_not_found_and_lists_the_served_models(served):
    with pytest.raises(openai.NotFoundError) as raised:
        served["client"].embeddings.create(model="text-embedding-3-small", input=["hello"])
    assert raised.value.code == "model_not_found"
    assert "fraud-detector, minilm-embeddings" in raised.value.message


def test_a_tensor_model_refuses_texts_with_the_enclaves_reason(served):
    with pytest.raises(openai.BadRequestError) as raised:
        served["client"].embeddings.create(model="fraud-detector", input=["hello"])
    assert raised.value.code == "model_rejected"
    assert "TEXTS_NOT_SUPPORTED" in raised.value.message
