#!/usr/bin/env python3
"""Trains Enclava's demo model: a small fraud-detection classifier over tabular card transactions.

Synthetic data only (no real transactions). Training uses numpy alone, with a fixed seed, so a rerun
writes the same model. The model is exported with onnx.helper (opset 13, dynamic batch dimension "N"):

    features [N, 8] float32
      -> Sub(mean) -> Div(std)                  standardisation baked into the graph
      -> MatMul(W1) -> Add(b1) -> Relu          8 -> 16
      -> Gemm(W2, b2) -> Relu                   16 -> 8
      -> Gemm(W3^T, b3, transB=1)               8 -> 2 logits (legit, fraud)
      -> Softmax(axis=1)
    probabilities [N, 2] float32

Then it runs the exported file with onnxruntime and writes golden.json (inputs and the outputs
onnxruntime computed) and sample-input.json (a batch of two rows for the demo).

    python3 Manifests/fraud-detector/train.py        # writes model.onnx, golden.json, sample-input.json here
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20261127
FEATURES = [
    "amount_usd",              # transaction amount
    "hour_of_day",             # local hour, 0..23
    "merchant_risk",           # merchant category risk score, 0..1
    "distance_from_home_km",   # distance between the merchant and the cardholder's home
    "minutes_since_last_txn",  # time since the card's previous transaction
    "txn_count_24h",           # transactions on the card in the last 24 hours
    "is_foreign",              # 1 when the merchant is in another country
    "card_present",            # 1 for chip/contactless, 0 for card-not-present
]
HERE = os.path.dirname(os.path.abspath(__file__))


def synthesize(rng, count, fraud):
    """Draws `count` transactions from the legitimate or the fraudulent distribution."""
    if fraud:
        amount = rng.lognormal(4.6, 1.2, count)
        hour = np.mod(rng.normal(6.0, 6.0, count), 24.0)
        risk = rng.beta(3.5, 4.0, count)
        distance = rng.exponential(120.0, count)
        minutes = rng.exponential(90.0, count)
        txns = rng.poisson(6.0, count)
        foreign = rng.random(count) < 0.3
        present = rng.random(count) < 0.4
    else:
        amount = rng.lognormal(3.4, 0.9, count)
        hour = np.mod(rng.normal(14.0, 4.0, count), 24.0)
        risk = rng.beta(2.0, 8.0, count)
        distance = rng.exponential(12.0, count)
        minutes = rng.exponential(500.0, count)
        txns = rng.poisson(3.0, count)
        foreign = rng.random(count) < 0.04
        present = rng.random(count) < 0.75
    columns = [amount, np.floor(hour), risk, distance, minutes, txns, foreign, present]
    return np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)


def make_dataset(rng, count, fraud_rate=0.15):
    frauds = int(count * fraud_rate)
    x = np.concatenate([synthesize(rng, count - frauds, False), synthesize(rng, frauds, True)])
    y = np.concatenate([np.zeros(count - frauds, dtype=np.int64), np.ones(frauds, dtype=np.int64)])
    noisy = rng.random(count) < 0.03          # mislabelled cases keep the probabilities calibrated
    y = np.where(noisy, 1 - y, y)
    order = rng.permutation(count)
    return x[order], y[order]


def train(x, y, rng, hidden=(16, 8), steps=3000, batch=256, lr=0.01):
    """A two-hidden-layer MLP trained with Adam on the cross-entropy loss."""
    mean = x.mean(axis=0)
    std = x.std(axis=0) + 1e-6
    z = (x - mean) / std
    sizes = [x.shape[1], hidden[0], hidden[1], 2]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
        params.append(np.zeros(fan_out))
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(z), batch)
        xb, yb = z[idx], y[idx]
        h1 = np.maximum(xb @ params[0] + params[1], 0.0)
        h2 = np.maximum(h1 @ params[2] + params[3], 0.0)
        logits = h2 @ params[4] + params[5]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        d = p.copy()
        d[np.arange(batch), yb] -= 1.0
        d /= batch
        grads = [None] * 6
        grads[4] = h2.T @ d
        grads[5] = d.sum(axis=0)
        d2 = (d @ params[4].T) * (h2 > 0)
        grads[2] = h1.T @ d2
        grads[3] = d2.sum(axis=0)
        d1 = (d2 @ params[2].T) * (h1 > 0)
        grads[0] = xb.T @ d1
        grads[1] = d1.sum(axis=0)
        for i, g in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            m_hat = m[i] / (1 - 0.9 ** step)
            v_hat = v[i] / (1 - 0.999 ** step)
            params[i] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return mean, std, params


def predict(x, mean, std, params):
    z = (x - mean) / std
    h1 = np.maximum(z @ params[0] + params[1], 0.0)
    h2 = np.maximum(h1 @ params[2] + params[3], 0.0)
    logits = h2 @ params[4] + params[5]
    return logits.argmax(axis=1)


def export(mean, std, params, path):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    initializers = [
        numpy_helper.from_array(f32(mean), "feature_mean"),
        numpy_helper.from_array(f32(std), "feature_std"),
        numpy_helper.from_array(f32(params[0]), "dense1.weight"),
        numpy_helper.from_array(f32(params[1]), "dense1.bias"),
        numpy_helper.from_array(f32(params[2]), "dense2.weight"),
        numpy_helper.from_array(f32(params[3]), "dense2.bias"),
        numpy_helper.from_array(f32(params[4].T), "head.weight"),   # [2, 8]; used with transB=1
        numpy_helper.from_array(f32(params[5]), "head.bias"),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "feature_mean"], ["centered"], name="standardize_sub"),
        helper.make_node("Div", ["centered", "feature_std"], ["standardized"], name="standardize_div"),
        helper.make_node("MatMul", ["standardized", "dense1.weight"], ["dense1.matmul"], name="dense1_matmul"),
        helper.make_node("Add", ["dense1.matmul", "dense1.bias"], ["dense1.out"], name="dense1_add"),
        helper.make_node("Relu", ["dense1.out"], ["dense1.act"], name="dense1_relu"),
        helper.make_node("Gemm", ["dense1.act", "dense2.weight", "dense2.bias"], ["dense2.out"], name="dense2_gemm"),
        helper.make_node("Relu", ["dense2.out"], ["dense2.act"], name="dense2_relu"),
        helper.make_node("Gemm", ["dense2.act", "head.weight", "head.bias"], ["logits"], name="head_gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "fraud_detector",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(FEATURES)])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])],
        initializer=initializers)
    graph.doc_string = "Fraud probability for card transactions; features: " + ", ".join(FEATURES)
    model = helper.make_model(graph, producer_name="enclava-train.py", producer_version="1.0",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def tensor_json(array):
    array = np.asarray(array, dtype=np.float32)
    # Shortest decimal that reads back as the same float32.
    data = [float(np.format_float_positional(v, unique=True)) for v in array.reshape(-1)]
    return {"dtype": "float32", "shape": list(array.shape), "data": data}


def main():
    rng = np.random.default_rng(SEED)
    x_train, y_train = make_dataset(rng, 40000)
    x_test, y_test = make_dataset(rng, 8000)
    mean, std, params = train(x_train, y_train, rng)
    accuracy = float((predict(x_test, mean, std, params) == y_test).mean())
    print(f"held-out accuracy: {accuracy:.4f}")

    model_path = os.path.join(HERE, "model.onnx")
    export(mean, std, params, model_path)

    import onnxruntime as ort
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    rows = np.array([
        # amount, hour, merchant risk, km from home, minutes since last, txns/24h, foreign, card present
        [42.50, 13, 0.12, 3.2, 720.0, 2, 0, 1],    # groceries near home at lunchtime: legitimate
        [899.99, 3, 0.71, 380.0, 6.0, 9, 1, 0],     # 3 a.m., abroad, card not present, burst of txns: fraud-like
        [129.00, 20, 0.35, 45.0, 90.0, 5, 0, 0],    # evening card-not-present purchase 45 km away: suspicious
        [8.75, 9, 0.05, 0.8, 1440.0, 1, 0, 1],      # morning coffee: legitimate
    ], dtype=np.float32)
    outputs = session.run(["probabilities"], {"features": rows})[0]
    for row, probability in zip(rows, outputs):
        print(f"  fraud probability {probability[1]:.4f} for {row.tolist()}")
    golden = {
        "description": "fraud-detector model.onnx run by onnxruntime (CPUExecutionProvider); "
                       "compare float outputs with max abs error <= 1e-5",
        "producer": f"onnxruntime {ort.__version__}, numpy {np.__version__}, onnx {onnx.__version__}",
        "feature_names": FEATURES,
        "held_out_accuracy": round(accuracy, 4),
        "inputs": {"features": tensor_json(rows)},
        "outputs": {"probabilities": tensor_json(outputs)},
    }
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    with open(os.path.join(HERE, "sample-input.json"), "w") as f:
        json.dump(tensor_json(rows[:2]), f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
