"""Export the test embedding of a ReID model to ONNX or TorchScript.

    pip install -e ".[deploy]"   # onnx, onnxscript, onnxruntime
    python tools/deployment/export.py CONFIG CHECKPOINT --format onnx \
        --out model.onnx [--cfg-options KEY=VALUE ...]

The exported graph takes a float batch ``images`` of shape (N, 3, H, W),
values 0-255, channels BGR (as OpenCV / mmcv read images), resized to the
test size; N is dynamic. It returns ``features`` (N, D): the head's test
embedding, L2-normalised when the config's ReID metric normalises (change
with ``--l2-normalize`` / ``--no-l2-normalize``), so that plain euclidean
or cosine search on the outputs ranks as the evaluation does.

At the end the exported model is checked against PyTorch on the config's
test set: the largest absolute difference of the features and whether
every query's top-10 gallery is the same (``--no-check`` skips it).
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmreid_tricks  # noqa: F401  (registers modules, checkpoint loader)
from mmreid_tricks.apis.model_loading import build_model
from mmreid_tricks.evaluation.functional import (distance_rows_fn,
                                                 ranked_gallery)
from mmreid_tricks.models.reid import ReIDFeatureExporter
from mmreid_tricks.utils.test_results import reid_metric_settings


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a ReID model (test embedding) to ONNX or '
        'TorchScript')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--format', choices=['onnx', 'torchscript'], default='onnx')
    parser.add_argument('--out', required=True, help='the exported file')
    parser.add_argument(
        '--l2-normalize',
        action=argparse.BooleanOptionalAction,
        default=None,
        help="L2-normalise the output (default: as the config's ReID "
        'metric, normalize_feature)')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input height and width (default: the Resize scale of the '
        'test pipeline)')
    parser.add_argument(
        '--opset', type=int, default=18, help='ONNX opset version')
    parser.add_argument(
        '--no-check',
        action='store_true',
        help='skip the comparison with PyTorch on the test set')
    parser.add_argument(
        '--topk', type=int, default=10, help='ranks compared by the check')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. test_dataloader.batch_size=32')
    return parser.parse_args(argv)


def _test_input_size(cfg: Config) -> tuple:
    """``(H, W)`` of the test pipeline's Resize."""
    dataset = cfg.test_dataloader.dataset
    while 'datasets' in dataset or 'dataset' in dataset:
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    for transform in dataset.get('pipeline', []):
        if str(transform['type']).split('.')[-1] == 'Resize' and isinstance(
                transform.get('scale'), (list, tuple)):
            width, height = transform['scale']
            return height, width
    raise KeyError(f'no Resize with a (w, h) scale in the test pipeline of '
                   f'{cfg.filename!r}: give --input-size H W')


def export(wrapper: torch.nn.Module, example: torch.Tensor, fmt: str, out: str,
           opset: int) -> None:
    """Write ``wrapper`` as ONNX or TorchScript, batch axis dynamic."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    if fmt == 'torchscript':
        with torch.no_grad():
            traced = torch.jit.trace(wrapper, example)
        traced.save(out)
        return
    batch = torch.export.Dim('batch', min=1)
    torch.onnx.export(
        wrapper, (example, ),
        out,
        input_names=['images'],
        output_names=['features'],
        dynamic_shapes={'images': {
            0: batch
        }},
        opset_version=opset,
        dynamo=True,
        external_data=False)


def load_exported(fmt: str, path: str):
    """A function ``f(images: ndarray) -> ndarray`` of the export."""
    if fmt == 'torchscript':
        module = torch.jit.load(path, map_location='cpu')
        return lambda x: module(torch.from_numpy(x)).detach().numpy()
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return lambda x: session.run(['features'], {'images': x})[0]


def check_parity(cfg: Config, model: torch.nn.Module,
                 wrapper: ReIDFeatureExporter, run_exported,
                 topk: int) -> dict:
    """Compare the export with PyTorch on the test set.

    The reference is the model's own ``test_step`` (data preprocessor and
    ``predict``), so the wrapper's preprocessing is checked too.

    Returns:
        dict: ``max_abs_diff``, ``num_images``, ``num_queries`` and
        ``same_topk`` (queries whose top-k gallery indices are identical).
    """
    loader = Runner.build_dataloader(cfg.test_dataloader)
    ref, out, pids, camids, is_query = [], [], [], [], []
    with torch.no_grad():
        for batch in loader:
            samples = model.test_step(batch)
            feats = torch.stack([s.pred_feature for s in samples]).float()
            if wrapper.l2_normalize:
                feats = torch.nn.functional.normalize(feats, dim=1)
            ref.append(feats)
            images = torch.stack(batch['inputs']).float().numpy()
            out.append(torch.from_numpy(run_exported(images)).float())
            pids += [int(s.gt_label) for s in samples]
            camids += [int(s.camid) for s in samples]
            is_query += [bool(s.is_query) for s in samples]
    ref, out = torch.cat(ref), torch.cat(out)
    pids, camids = torch.tensor(pids), torch.tensor(camids)
    is_query = torch.tensor(is_query)
    metric = reid_metric_settings(cfg)
    tops = []
    for feats in (ref, out):
        if metric['normalize_feature']:
            feats = torch.nn.functional.normalize(feats, dim=1)
        query, gallery = feats[is_query], feats[~is_query]
        dist = distance_rows_fn(query, gallery, metric['metric'])(0,
                                                                  len(query))
        order = ranked_gallery(dist, pids[is_query], pids[~is_query],
                               camids[is_query], camids[~is_query])['order']
        tops.append(order[:, :topk])
    return dict(
        max_abs_diff=float((ref - out).abs().max()),
        num_images=len(ref),
        num_queries=int(is_query.sum()),
        same_topk=int((tops[0] == tops[1]).all(1).sum()))


def main(argv=None) -> dict:
    args = parse_args(argv)
    # Every checkpoint key must fit the model, else a ValueError names them.
    model, cfg = build_model(args.config, args.checkpoint, 'cpu',
                             args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmreid_tricks'))
    l2_normalize = args.l2_normalize
    if l2_normalize is None:
        l2_normalize = bool(reid_metric_settings(cfg)['normalize_feature'])
    wrapper = ReIDFeatureExporter(model, l2_normalize).eval()
    height, width = args.input_size or _test_input_size(cfg)
    example = torch.rand(2, 3, height, width) * 255
    export(wrapper, example, args.format, args.out, args.opset)
    print(f'{args.format} model written to {args.out}: input images '
          f'(N, 3, {height}, {width}) float BGR 0-255, output features '
          f'(N, D){", L2-normalised" if l2_normalize else ""}')
    if args.no_check:
        return {}
    loader = cfg.test_dataloader
    if loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    report = check_parity(cfg, model, wrapper,
                          load_exported(args.format, args.out), args.topk)
    print(f'parity with PyTorch on {report["num_images"]} test images: '
          f'max |feature difference| = {report["max_abs_diff"]:.3g}; '
          f'top-{args.topk} identical for {report["same_topk"]} of '
          f'{report["num_queries"]} queries')
    return report


if __name__ == '__main__':
    main()
