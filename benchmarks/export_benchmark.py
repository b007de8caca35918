"""Throughput of the ONNX export on onnxruntime (CPU) against PyTorch eager.

The model of ``--config`` (random weights unless ``--checkpoint``) is
wrapped as ``tools/deployment/export.py`` exports it (preprocessing,
backbone, neck, test embedding), exported to ONNX in a temporary folder,
and both run on the same random batches at the config's test size. For
each batch size, each engine is timed ``--repeats`` times over ``--iters``
batches after a warm-up, the best round is kept (the machine may be shared),
and images per second plus the ratio onnxruntime / eager are printed. Both
use ``--threads`` CPU threads. The largest feature difference is printed
too, as a sanity check. Needs the ``deploy`` extra.

Examples:
    python benchmarks/export_benchmark.py
    python benchmarks/export_benchmark.py \\
        --config configs/bot/bot_resnet50_1xb64-120e_market1501.py \\
        --batch-sizes 1 16 64 --threads 8
"""
import argparse
import importlib.util
import json
import os.path as osp
import tempfile
import time

import numpy as np
import torch

import mmreid_tricks  # noqa: F401
from mmreid_tricks.apis.model_loading import build_model
from mmreid_tricks.models.reid import ReIDFeatureExporter

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _export_tool():
    path = osp.join(REPO, 'tools', 'deployment', 'export.py')
    spec = importlib.util.spec_from_file_location('export_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_rate(fn, batch: np.ndarray, iters: int, repeats: int) -> float:
    """Images per second of ``fn(batch)``, best of ``repeats`` rounds."""
    fn(batch)  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            fn(batch)
        best = min(best, time.perf_counter() - start)
    return iters * len(batch) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config',
        default=osp.join(REPO, 'configs', 'strong_baseline_synthetic.py'))
    parser.add_argument('--checkpoint', help='weights (random if absent)')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--json-out', help='also write the results here')
    args = parser.parse_args()

    import onnxruntime as ort
    torch.set_num_threads(args.threads)
    tool = _export_tool()
    model, cfg = build_model(args.config, args.checkpoint, 'cpu')
    wrapper = ReIDFeatureExporter(model).eval()
    height, width = tool._test_input_size(cfg)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        tool.export(
            wrapper,
            torch.rand(2, 3, height, width) * 255,
            'onnx',
            path,
            opset=18)
        session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider'])

        def run_ort(x):
            return session.run(['features'], {'images': x})[0]

        def run_eager(x):
            with torch.inference_mode():
                return wrapper(torch.from_numpy(x)).numpy()

        rng = np.random.default_rng(0)
        for batch_size in args.batch_sizes:
            batch = (rng.random(
                (batch_size, 3, height, width)) * 255).astype(np.float32)
            diff = float(np.abs(run_ort(batch) - run_eager(batch)).max())
            eager = best_rate(run_eager, batch, args.iters, args.repeats)
            onnx = best_rate(run_ort, batch, args.iters, args.repeats)
            rows.append(
                dict(
                    batch_size=batch_size,
                    eager_img_s=eager,
                    onnxruntime_img_s=onnx,
                    ratio=onnx / eager,
                    max_abs_diff=diff))
            print(f'batch {batch_size:4d}: eager {eager:9.1f} img/s, '
                  f'onnxruntime {onnx:9.1f} img/s, ratio {onnx / eager:.2f}x'
                  f', max |diff| {diff:.2g}')
    info = dict(
        config=args.config,
        input=(3, height, width),
        threads=args.threads,
        torch=torch.__version__,
        onnxruntime=ort.__version__,
        results=rows)
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(info, f, indent=2)


if __name__ == '__main__':
    main()
