"""The Python client against real served enclaves (`enclava serve` + `enclava-runtime`, simulated SEV-SNP)."""

from __future__ import annotations

import gc
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import enclava
from enclava import (
    AttestationError,
    ConfidentialSession,
    EnclavaError,
    InputError,
    ModelError,
    PolicyError,
    SessionClosedError,
    TransportError,
)

from conftest import Bridge, cli_tensor, texts_arguments

# The snippet, as written, with the demo image's name for the model.
SNIPPET = '''
from enclava import ConfidentialSession

with ConfidentialSession() as session:
    # Data is encrypted in transit and decrypted only inside the TEE
    result = session.run_inference(model="fraud-detector", data=sensitive_data)
    # Result is encrypted before leaving the TEE
'''

def features_argument(features: np.ndarray) -> str:
    """`--input features=JSON` for the CLI (float32 values printed exactly)."""
    return "features=" + json.dumps({"dtype": "float32", "shape": list(features.shape),
                                     "data": [float(v) for v in features.ravel()]})


TEXTS = ["Confidential computing keeps data encrypted while it is used.",
         "The cat sat on the mat."]


def test_snippet_runs_verbatim_with_the_environment_set(platform, fraud_bridge, sample_features, client_env, monkeypatch):
    monkeypatch.setenv("ENCLAVA_ENDPOINT", fraud_bridge.endpoint)
    monkeypatch.setenv("ENCLAVA_POLICY", str(platform.policies["fraud"]))
    namespace = {"sensitive_data": sample_features}
    exec(SNIPPET, namespace)
    result = namespace["result"]
    expected = cli_tensor(platform.infer_json(fraud_bridge.port, "fraud", "--input", features_argument(sample_features)),
                          "probabilities")
    assert isinstance(result, np.ndarray) and result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-6)
    assert namespace["session"].closed  # __exit__ closed it


def test_fraud_tensors_match_the_cli(platform, fraud_bridge, client_env):
    rng = np.random.default_rng(12)
    features = (rng.random((4, 8)) * [900, 24, 1, 400, 800, 10, 1, 1]).astype(np.float32)
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"]), timeout=120) as session:
        by_name = session.run_inference(model="fraud-detector", data={"features": features})
        single = session.run_inference(model="fraud-detector", data=features)
    report = platform.infer_json(fraud_bridge.port, "fraud", "--input", features_argument(features))
    expected = cli_tensor(report, "probabilities")
    assert by_name.shape == expected.shape == (4, 2)
    np.testing.assert_allclose(by_name, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(single, by_name)


def test_minilm_texts_match_the_cli(platform, minilm_bridge, client_env):
    with ConfidentialSession(endpoint=minilm_bridge.endpoint, policy=str(platform.policies["minilm"]), timeout=300) as session:
        embeddings = session.run_inference(model="minilm-embeddings", data=TEXTS)
        one = session.run_inference(model="minilm-embeddings", data=TEXTS[1])
    expected = cli_tensor(platform.infer_json(minilm_bridge.port, "minilm", *texts_arguments(TEXTS)), "embeddings")
    assert embeddings.shape == expected.shape == (2, 384)
    np.testing.assert_allclose(embeddings, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(one[0], embeddings[1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_attestation_is_the_verified_claims(platform, fraud_bridge, client_env):
    policy = json.loads(platform.policies["fraud"].read_text())
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=policy) as session:  # policy as a dict
        claims = session.attestation
        session.run_inference(model="fraud-detector", data={"features": np.zeros((1, 8), dtype=np.float32)})
        assert session.attestation["memory_unlocked"] is False  # re-read after a result: the enclave locks its memory
    assert session.attestation == claims  # a closed session keeps what it verified
    assert claims["platform"] == "sev-snp"
    assert claims["simulated"] is True
    assert claims["measurement"] in policy["expected_measurements"]
    assert claims["manifest_digest"] in policy["expected_manifest_digests"]
    assert claims["model"] == "fraud-detector"
    assert set(claims["tcb"]) >= {"bootloader", "tee", "snp", "microcode"}
    assert len(claims["root_fingerprint"]) == 64


def test_a_policy_for_another_image_is_refused_before_any_infer_frame(platform, sample_features, client_env):
    traffic = platform.work / "refused-traffic.bin"
    bridge = Bridge(platform, platform.images["fraud"], record_traffic=traffic)
    try:
        with pytest.raises(AttestationError) as raised:
            ConfidentialSession(endpoint=bridge.endpoint, policy=str(platform.policies["minilm"]))
    finally:
        bridge.stop()
    assert raised.value.reason == "MANIFEST_DIGEST_MISMATCH", str(raised.value)
    assert "manifest" in raised.value.message
    recorded = traffic.read_bytes()
    traffic.unlink()
    assert b"GetEvidence" in recorded  # the recorder saw the attestation …
    assert b"OpenSession" not in recorded and b"Infer" not in recorded  # … and nothing after it


def test_a_model_refusal_is_a_model_error_with_the_enclaves_message(platform, fraud_bridge, client_env):
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"])) as session:
        with pytest.raises(ModelError) as raised:
            session.run_inference(model="fraud-detector", data={"features": np.zeros((2, 5), dtype=np.float32)})
        # The session stays usable after a refusal.
        assert session.run_inference(model="fraud-detector", data=np.zeros((1, 8), dtype=np.float32)).shape == (1, 2)
    assert raised.value.reason == "INVALID_ARGUMENT"
    assert "input 'features': dimension 1 must be 8, got 5 (shape [2, 5], expected [N, 8])" in raised.value.message
    # The same refusal, reason and sentence, as the CLI reports it.
    cli = platform.run("infer", "--endpoint", fraud_bridge.endpoint, "--policy", str(platform.policies["fraud"]),
                       "--input", "features=[[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]", "--json", check=False)
    error = json.loads(cli.stdout)["error"]
    assert cli.returncode != 0 and error["code"] == "MODEL_REJECTED"
    assert (raised.value.reason, raised.value.message) == (error["reason"], error["message"])


def test_an_unknown_model_names_the_served_one(platform, fraud_bridge, sample_features, client_env):
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"])) as session:
        with pytest.raises(ModelError) as raised:
            session.run_inference(model="your-private-model", data=sample_features)
    assert raised.value.reason == "UNKNOWN_MODEL"
    assert "`fraud-detector`" in raised.value.message
    # Named at open: the policy must pin that name (it pins only fraud-detector), checked before anything is sent.
    with pytest.raises(AttestationError) as at_open:
        ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"]), model="minilm-embeddings")
    assert at_open.value.reason == "MODEL_NOT_PINNED"


def test_sixteen_threads_share_one_session(platform, fraud_bridge, client_env):
    rng = np.random.default_rng(16)
    inputs = [(rng.random((3, 8)) * 100).astype(np.float32) for _ in range(16)]
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"]), timeout=120) as session:
        expected = [session.run_inference(model="fraud-detector", data=x) for x in inputs]

        def work(index: int):
            return [session.run_inference(model="fraud-detector", data=inputs[index]) for _ in range(4)]

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(work, range(16)))
    for index, answers in enumerate(results):
        for answer in answers:
            np.testing.assert_allclose(answer, expected[index], rtol=0, atol=1e-6)


def test_config_file_is_read_when_the_environment_says_nothing(platform, fraud_bridge, sample_features, client_env):
    folder = client_env / ".enclava"
    folder.mkdir()
    (folder / "config.toml").write_text(f'endpoint = "{fraud_bridge.endpoint}"\npolicy = "{platform.policies["fraud"]}"\n')
    with ConfidentialSession() as session:
        assert session.run_inference(model="fraud-detector", data=sample_features).shape == (2, 2)
    (folder / "config.toml").write_text('endpoint = "127.0.0.1:1"\nendpiont = "typo"\n')
    with pytest.raises(EnclavaError) as raised:
        ConfidentialSession()
    assert raised.value.reason == "INVALID_CONFIG" and "endpiont" in raised.value.message


def test_policy_errors(platform, fraud_bridge, client_env):
    with pytest.raises(PolicyError) as missing:
        ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.work / "no-such-policy.json"))
    assert missing.value.reason == "INVALID_POLICY" and "no-such-policy.json" in missing.value.message
    with pytest.raises(PolicyError) as unknown:
        ConfidentialSession(endpoint=fraud_bridge.endpoint, policy={"allow_simulaton": True})
    assert unknown.value.reason == "INVALID_POLICY" and "allow_simulaton" in unknown.value.message
    with pytest.raises(PolicyError) as none:
        ConfidentialSession(endpoint=fraud_bridge.endpoint)
    assert none.value.reason == "NO_POLICY"


def test_an_unreachable_bridge_is_a_transport_error(platform, client_env):
    from conftest import free_port
    with pytest.raises(TransportError):
        ConfidentialSession(endpoint=f"127.0.0.1:{free_port()}", policy=str(platform.policies["fraud"]), timeout=10)


def test_inputs_the_client_cannot_send(platform, fraud_bridge, client_env):
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"])) as session:
        with pytest.raises(InputError) as float64:
            session.run_inference(model="fraud-detector", data=np.zeros((1, 8)))
        assert "float64" in str(float64.value) and "astype" in str(float64.value)
        with pytest.raises(InputError):
            session.run_inference(model="fraud-detector", data=42)


def test_closed_sessions_refuse_calls_and_sessions_close_on_gc(platform, fraud_bridge, sample_features, client_env):
    session = ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"]))
    session.close()
    session.close()  # idempotent
    with pytest.raises(SessionClosedError):
        session.run_inference(model="fraud-detector", data=sample_features)
    other = ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"]))
    finalizer = other._finalizer
    assert finalizer.alive
    del other
    gc.collect()
    assert not finalizer.alive  # the handle was closed by the garbage collector


def test_the_package_is_typed():
    from pathlib import Path
    assert (Path(enclava.__file__).parent / "py.typed").is_file()
    assert issubclass(AttestationError, EnclavaError) and issubclass(ModelError, EnclavaError)


def test_nothing_configured_says_what_to_set(client_env):
    with pytest.raises(EnclavaError) as raised:
        ConfidentialSession()
    assert raised.value.reason == "NO_ENDPOINT" and "ENCLAVA_ENDPOINT" in raised.value.message


def test_the_policy_may_be_given_as_json_in_the_environment(platform, fraud_bridge, sample_features, client_env, monkeypatch):
    monkeypatch.setenv("ENCLAVA_ENDPOINT", fraud_bridge.endpoint)
    monkeypatch.setenv("ENCLAVA_POLICY", platform.policies["fraud"].read_text())
    with ConfidentialSession(timeout=30) as session:
        assert session.timeout == 30
        assert session.run_inference(model="fraud-detector", data=sample_features).shape == (2, 2)
