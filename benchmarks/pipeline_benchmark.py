"""Data loading per CPU core: our mmcv pipeline against torchvision's.

Both pipelines read the same JPEG files, one image at a time, in a single
process pinned to one core (``torch.set_num_threads(1)``,
``cv2.setNumThreads(0)`` as ``env_cfg.mp_cfg.opencv_num_threads=0`` sets in
the dataloader workers, no workers), so the numbers are images per second
per core: multiply by the number of dataloader workers for a rough total.

- ``torchvision``: the released BoT code's training transform: PIL
  ``Image.open(...).convert('RGB')``, ``T.Resize((256, 128))``,
  ``T.RandomHorizontalFlip()``, ``T.Pad(10)``, ``T.RandomCrop((256, 128))``,
  ``T.ToTensor()``, ``T.Normalize(ImageNet)`` and its random erasing of the
  normalised tensor (written here from the facts in
  ``shared/notes/bot-reference.md``: p=0.5, up to 100 attempts, uniform
  aspect, fill (0.485, 0.456, 0.406)). Its output is a normalised float
  tensor, ready for the model.
- ``ours``: ``dataset[i]`` of ``Market1501`` with the ``train_pipeline`` of
  ``configs/_base_/datasets/market1501_bs64.py`` (``LoadImageFromFile``,
  ``Resize``, ``RandomFlip``, ``RandomCrop`` with padding,
  ``ReIDRandomErasing``, ``PackInputs``). Its output is a uint8 BGR tensor:
  the model's data preprocessor converts it to RGB float and normalises it
  on the training device, for the whole batch at once. That work is NOT
  counted here; ``ours + CPU normalise`` adds the same arithmetic on the CPU,
  per image, for a like-for-like comparison, and the preprocessor itself is
  timed on a batch of 64 on ``--device`` (``cuda``: what it costs the GPU).

Candidate changes of ours are timed too (other JPEG decoders, erasing moved
to the device, ``RandomFlip`` moved last, a numpy ``PackInputs``), and a
per-transform profile says where the time goes.

With no ``--data-root``, a synthetic set is generated at 128x64 (Market's
native size) with ``generate_synthetic_market1501`` into a temporary folder.
Each pipeline makes ``--repeats`` passes over ``--num-images`` images; the
pipelines take turns every ``--chunk`` images, so that load from elsewhere on
a shared machine hits them alike, and the median pass is reported.

Examples:
    python benchmarks/pipeline_benchmark.py
    python benchmarks/pipeline_benchmark.py --num-images 2000 --repeats 5
    python benchmarks/pipeline_benchmark.py --data-root data/market1501
    python benchmarks/pipeline_benchmark.py --device cuda
"""
import argparse
import copy
import math
import os
import os.path as osp
import platform
import random
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import mmcv
import mmengine
import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms as T
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.datasets.transforms import PackInputs
from PIL import Image

from mmreid_tricks.datasets import Market1501, generate_synthetic_market1501
from mmreid_tricks.registry import MODELS
from mmreid_tricks.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets',
                          'market1501_bs64.py')
MODEL_CONFIG = osp.join(REPO, 'configs', '_base_', 'models', 'bot_resnet50.py')
# ImageNet statistics: on the 0-255 scale for ours, 0-1 for torchvision.
MEAN_RGB = (123.675, 116.28, 103.53)
STD_RGB = (58.395, 57.12, 57.375)
TV_MEAN = (0.485, 0.456, 0.406)
TV_STD = (0.229, 0.224, 0.225)
# The constant the released code writes into the normalised tensor.
BOT_ERASE_FILL = (0.485, 0.456, 0.406)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data-root',
        help='Market-1501 folder (with bounding_box_train/); default: a '
        'synthetic set generated into a temporary folder')
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIG,
        help='config whose train_pipeline is ours (default: %(default)s)')
    parser.add_argument(
        '--num-images',
        type=int,
        default=1000,
        help='images per timed pass (default: %(default)s)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timed passes of each pipeline (default: %(default)s)')
    parser.add_argument(
        '--chunk',
        type=int,
        default=50,
        help='the pipelines take turns every CHUNK images, so that a burst '
        'of load from elsewhere hits them all alike (default: %(default)s)')
    parser.add_argument(
        '--profile-images',
        type=int,
        default=300,
        help='images for the per-transform profile, 0 to skip '
        '(default: %(default)s)')
    parser.add_argument(
        '--no-alternatives',
        action='store_true',
        help='time only torchvision, ours and ours + CPU normalise')
    parser.add_argument(
        '--no-pin',
        action='store_true',
        help='do not pin the process to one CPU core')
    parser.add_argument(
        '--device',
        default='cpu',
        choices=['cpu', 'cuda'],
        help='where to time the data preprocessor that normalises our '
        'batches (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda, but CUDA is not available')
    return args


# ----------------------------------------------------------------- machine
def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, or platform's guess."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pin_to_one_core() -> Optional[int]:
    """Pin this process to the first core it may run on; return it."""
    if not hasattr(os, 'sched_setaffinity'):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def machine_lines(core: Optional[int]) -> List[str]:
    usable = (
        len(os.sched_getaffinity(0))
        if hasattr(os, 'sched_getaffinity') else os.cpu_count())
    return [
        f'python {platform.python_version()}, torch {torch.__version__}, '
        f'torchvision {torchvision.__version__}, mmcv {mmcv.__version__}, '
        f'mmengine {mmengine.__version__}, opencv {cv2.__version__}, '
        f'pillow {PIL.__version__}, numpy {np.__version__}',
        f'CPU: {cpu_name()}; os.cpu_count()={os.cpu_count()}; '
        f'pinned to core {core}' if core is not None else
        f'CPU: {cpu_name()}; os.cpu_count()={os.cpu_count()}; '
        f'usable cores={usable} (not pinned)',
        f'torch threads={torch.get_num_threads()}, opencv threads='
        f'{cv2.getNumThreads()}, device: CPU only (one process, no workers)',
    ]


# ------------------------------------------------------------ torchvision
class PaperRandomErasing:
    """Random erasing of a normalised (C, H, W) tensor, as released by BoT.

    With probability ``probability``, up to 100 times: draw an area fraction
    uniformly in ``[sl, sh]`` and an aspect ratio uniformly in ``[r1,
    1 / r1]``, take ``h = round(sqrt(area * aspect))`` and ``w =
    round(sqrt(area / aspect))``, and keep the first draw with ``w < W`` and
    ``h < H``; its top-left corner is uniform over the valid positions and
    every channel of the box is set to its ``fill`` value. Python's
    ``random`` module draws, as in the released code.

    Args:
        probability (float): Chance of erasing. Defaults to 0.5.
        sl (float): Smallest area fraction. Defaults to 0.02.
        sh (float): Largest area fraction. Defaults to 0.4.
        r1 (float): Smallest aspect ratio. Defaults to 0.3.
        fill (Sequence[float]): Value per channel, written into the
            normalised tensor. Defaults to (0.485, 0.456, 0.406).
    """

    def __init__(self,
                 probability: float = 0.5,
                 sl: float = 0.02,
                 sh: float = 0.4,
                 r1: float = 0.3,
                 fill: Sequence[float] = BOT_ERASE_FILL) -> None:
        self.probability = probability
        self.sl, self.sh, self.r1 = sl, sh, r1
        self.fill = tuple(fill)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if random.uniform(0, 1) >= self.probability:
            return img
        _, height, width = img.shape
        for _ in range(100):
            target_area = random.uniform(self.sl, self.sh) * height * width
            aspect = random.uniform(self.r1, 1 / self.r1)
            h = int(round(math.sqrt(target_area * aspect)))
            w = int(round(math.sqrt(target_area / aspect)))
            if w < width and h < height:
                top = random.randint(0, height - h)
                left = random.randint(0, width - w)
                for channel, value in enumerate(self.fill):
                    img[channel, top:top + h, left:left + w] = value
                return img
        return img

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.probability})'


def pil_loader(path: str) -> Image.Image:
    """Read an image as the released code does."""
    return Image.open(path).convert('RGB')


def torchvision_transform(size: Tuple[int, int], padding: int) -> T.Compose:
    """The released BoT training transform at ``size`` (height, width)."""
    return T.Compose([
        T.Resize(size),
        T.RandomHorizontalFlip(p=0.5),
        T.Pad(padding),
        T.RandomCrop(size),
        T.ToTensor(),
        T.Normalize(mean=TV_MEAN, std=TV_STD),
        PaperRandomErasing(probability=0.5),
    ])


# -------------------------------------------------------------------- ours
class SimpleJpegLoad:
    """``LoadImageFromFile`` that decodes with simplejpeg (libjpeg-turbo).

    A candidate replacement, not part of the package: simplejpeg is
    installable from PyPI with libjpeg-turbo bundled in its wheel, whereas
    mmcv's ``'turbojpeg'`` backend (PyTurboJPEG) needs the system library.
    Non-JPEG files fall back to OpenCV.
    """

    def __init__(self) -> None:
        import simplejpeg
        self.simplejpeg = simplejpeg

    def __call__(self, results: dict) -> dict:
        with open(results['img_path'], 'rb') as f:
            buf = f.read()
        if self.simplejpeg.is_jpeg(buf):
            img = self.simplejpeg.decode_jpeg(buf, colorspace='BGR')
        else:
            img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return self.__class__.__name__ + '()'


class NumpyPackInputs(PackInputs):
    """``PackInputs`` that makes the (C, H, W) copy with numpy.

    A candidate replacement, not part of the package: ``PackInputs`` turns a
    contiguous (H, W, C) image into a tensor and copies it with torch's
    ``permute().contiguous()``, which is about twice as slow as numpy's
    ``ascontiguousarray(transpose())`` on one thread; the output is the same.
    """

    @staticmethod
    def format_input(input_):
        if isinstance(input_, np.ndarray) and input_.ndim == 3:
            return torch.from_numpy(
                np.ascontiguousarray(input_.transpose(2, 0, 1)))
        return PackInputs.format_input(input_)


class CPUNormalise:
    """What the data preprocessor does on the device, per image on the CPU:
    BGR to RGB, float, subtract the mean and divide by the std."""

    def __init__(self) -> None:
        self.mean = torch.tensor(MEAN_RGB).view(3, 1, 1)
        self.std = torch.tensor(STD_RGB).view(3, 1, 1)

    def __call__(self, packed: dict) -> dict:
        img = packed['inputs'].flip(0).float()
        packed['inputs'] = img.sub_(self.mean).div_(self.std)
        return packed


def turbojpeg_usable() -> bool:
    try:
        from turbojpeg import TurboJPEG
        TurboJPEG()
        return True
    except Exception:  # not installed, or no libturbojpeg on the system
        return False


def simplejpeg_usable() -> bool:
    try:
        import simplejpeg  # noqa: F401
        return True
    except ImportError:
        return False


def find_step(pipeline: List[dict], name: str) -> dict:
    for step in pipeline:
        if step['type'] == name:
            return step
    raise KeyError(f'the train_pipeline has no {name}')


def _copy(step):
    return copy.deepcopy(step) if isinstance(step, dict) else step


def replace_step(pipeline: List, name: str, new) -> List:
    """A copy of the pipeline with the step ``name`` replaced by ``new``
    (a dict or a callable), or removed when ``new`` is None."""
    out = []
    for step in pipeline:
        if _type(step) != name:
            out.append(_copy(step))
        elif new is not None:
            out.append(new)
    return out


def flip_last(pipeline: List) -> List:
    """A copy with ``RandomFlip`` moved to just before ``PackInputs``.

    The distribution of the output is unchanged: the padding is symmetric,
    the crop offset and the erased box are uniform over their valid ranges,
    so flipping commutes with them. mmcv's flip returns a view with a
    negative stride, which makes the next copy (cv2's padding, numpy's
    ``copy``) slow; at the end only the (C, H, W) copy reads it.
    """
    flips = [_copy(s) for s in pipeline if _type(s) == 'RandomFlip']
    rest = [_copy(s) for s in pipeline if _type(s) != 'RandomFlip']
    at = next(i for i, s in enumerate(rest)
              if _type(s) in ('PackInputs', 'NumpyPackInputs'))
    return rest[:at] + flips + rest[at:]


def _type(step) -> str:
    return step['type'] if isinstance(step, dict) else type(step).__name__


def our_variants(pipeline: List[dict], alternatives: bool) -> Dict[str, List]:
    """Named variants of our pipeline: the config's, and candidates."""
    variants = {'ours': copy.deepcopy(pipeline)}
    if not alternatives:
        return variants
    load = find_step(pipeline, 'LoadImageFromFile')
    pack = find_step(pipeline, 'PackInputs')
    numpy_pack = NumpyPackInputs(**{
        k: v
        for k, v in pack.items() if k != 'type'
    })
    variants['ours, imdecode_backend=pillow'] = replace_step(
        pipeline, 'LoadImageFromFile', dict(load, imdecode_backend='pillow'))
    fast = pipeline
    if turbojpeg_usable():
        fast = variants['ours, imdecode_backend=turbojpeg'] = replace_step(
            pipeline, 'LoadImageFromFile',
            dict(load, imdecode_backend='turbojpeg'))
    if simplejpeg_usable():
        fast = variants['ours, simplejpeg load'] = replace_step(
            pipeline, 'LoadImageFromFile', SimpleJpegLoad())
    variants['ours, no ReIDRandomErasing (erase on device)'] = replace_step(
        pipeline, 'ReIDRandomErasing', None)
    variants['ours, RandomFlip moved last (config)'] = flip_last(pipeline)
    variants['ours, NumpyPackInputs'] = replace_step(pipeline, 'PackInputs',
                                                     numpy_pack)
    variants['ours, flip last + NumpyPackInputs'] = replace_step(
        flip_last(pipeline), 'PackInputs', numpy_pack)
    if fast is not pipeline:
        variants['ours, flip last + NumpyPackInputs + fast jpeg'] = (
            replace_step(flip_last(fast), 'PackInputs', numpy_pack))
    return variants


# ------------------------------------------------------------------ timing
def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def time_pass(fn: Callable[[int], object], indices: Sequence[int],
              seed: int) -> float:
    """Seconds to run ``fn`` on every index once."""
    seed_all(seed)
    start = time.perf_counter()
    for i in indices:
        fn(i)
    return time.perf_counter() - start


def profile_ours(dataset: Market1501,
                 indices: Sequence[int]) -> List[Tuple[str, float]]:
    """Microseconds per image of ``get_data_info`` and each transform."""
    names = ['get_data_info (dataset)'
             ] + [type(t).__name__ for t in dataset.pipeline.transforms]
    totals = [0.0] * len(names)
    for i in indices:
        start = time.perf_counter()
        results = dataset.get_data_info(i)
        totals[0] += time.perf_counter() - start
        for k, transform in enumerate(dataset.pipeline.transforms, 1):
            start = time.perf_counter()
            results = transform(results)
            totals[k] += time.perf_counter() - start
    return [(n, t / len(indices) * 1e6) for n, t in zip(names, totals)]


def profile_torchvision(paths: Sequence[str], transform: T.Compose,
                        indices: Sequence[int]) -> List[Tuple[str, float]]:
    """Microseconds per image of the PIL read and each transform."""
    names = ['Image.open().convert(RGB)'
             ] + [type(t).__name__ for t in transform.transforms]
    totals = [0.0] * len(names)
    for i in indices:
        start = time.perf_counter()
        img = pil_loader(paths[i])
        totals[0] += time.perf_counter() - start
        for k, step in enumerate(transform.transforms, 1):
            start = time.perf_counter()
            img = step(img)
            totals[k] += time.perf_counter() - start
    return [(n, t / len(indices) * 1e6) for n, t in zip(names, totals)]


def preprocessor_ms(dataset: Market1501,
                    indices: Sequence[int],
                    device: torch.device,
                    batch_size: int = 64,
                    iters: int = 20) -> float:
    """Median ms per batch of the model's data preprocessor (from
    ``bot_resnet50.py``) on ``device``: copy, stack, BGR to RGB, float,
    normalise, as in training."""
    cfg = Config.fromfile(MODEL_CONFIG).model.data_preprocessor.to_dict()
    preprocessor = MODELS.build(cfg).to(device)
    batch = pseudo_collate([dataset[i] for i in indices[:batch_size]])
    times = []
    for _ in range(iters + 3):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        preprocessor(batch, True)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[3:]) * 1e3


def print_profile(title: str, rows: List[Tuple[str, float]]) -> None:
    total = sum(us for _, us in rows)
    print(f'\n{title}: {total:.0f} us/image '
          f'({1e6 / total:.0f} images/s/core without other overhead)')
    print(f'  {"step":<34} {"us/image":>9} {"share":>7}')
    for name, us in rows:
        print(f'  {name:<34} {us:>9.1f} {us / total:>7.1%}')


# -------------------------------------------------------------------- main
def prepare_data(args: argparse.Namespace, tmp: str) -> Tuple[str, str]:
    """The data root and a description of the data."""
    if args.data_root:
        return args.data_root, f'Market-1501 train split at {args.data_root}'
    root = osp.join(tmp, 'synthetic_market1501')
    start = time.perf_counter()
    counts = generate_synthetic_market1501(
        root,
        num_train_ids=max(16, math.ceil(args.num_images / 10)),
        num_test_ids=2,
        images_per_id=10,
        num_distractors=0,
        num_junk=0,
        height=128,
        width=64,
        seed=args.seed)
    took = time.perf_counter() - start
    return root, (f'synthetic, {counts["train"]} training JPEGs of 128x64 '
                  f'(generated in {took:.1f} s)')


def main(argv=None) -> None:
    args = parse_args(argv)
    register_all_modules()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    core = None if args.no_pin else pin_to_one_core()

    cfg = Config.fromfile(args.config)
    pipeline = [dict(step) for step in cfg.train_pipeline]
    size = find_step(pipeline, 'RandomCrop')['crop_size']
    padding = find_step(pipeline, 'RandomCrop').get('padding') or 0

    with tempfile.TemporaryDirectory(prefix='pipeline_bench_') as tmp:
        data_root, data_desc = prepare_data(args, tmp)
        datasets = {
            name: Market1501(data_root, split='train', pipeline=steps)
            for name, steps in our_variants(pipeline,
                                            not args.no_alternatives).items()
        }
        reference = datasets['ours']
        num_files = len(reference)
        paths = [
            reference.get_data_info(i)['img_path'] for i in range(num_files)
        ]
        indices = [i % num_files for i in range(args.num_images)]
        tv_transform = torchvision_transform(tuple(size), padding)
        normalise = CPUNormalise()

        runs: Dict[str, Callable[[int], object]] = {
            'torchvision (BoT released code)':
            lambda i: tv_transform(pil_loader(paths[i])),
            'ours (normalise on device, not counted)':
            reference.__getitem__,
            'ours + CPU normalise (like-for-like)':
            lambda i: normalise(reference[i]),
        }
        for name, dataset in datasets.items():
            if name != 'ours':
                runs[name] = dataset.__getitem__

        print('Data loading throughput per CPU core')
        for line in machine_lines(core):
            print('  ' + line)
        print(f'  data: {data_desc}; {args.num_images} images per pass, '
              f'{args.repeats} passes, output {size[0]}x{size[1]}, '
              f'pad {padding}')
        print(f'  ours: {args.config}')

        # Warm up: page cache, lazy imports, first-call costs.
        for path in paths:
            with open(path, 'rb') as f:
                f.read()
        warm = indices[:min(len(indices), 50)]
        for fn in runs.values():
            time_pass(fn, warm, args.seed)

        # seconds[name][repeat]: the pass of `indices`, taken in chunks.
        seconds = {name: [0.0] * args.repeats for name in runs}
        for repeat in range(args.repeats):
            for start in range(0, len(indices), args.chunk):
                chunk = indices[start:start + args.chunk]
                for name, fn in runs.items():
                    seconds[name][repeat] += time_pass(
                        fn, chunk, args.seed + repeat * len(indices) + start)

        tv_name = next(iter(runs))
        tv_rate = len(indices) / statistics.median(seconds[tv_name])
        print(f'\n  {"pipeline":<46} {"img/s/core":>10} {"min":>7} '
              f'{"max":>7} {"us/img":>7} {"vs tv":>6}')
        for name, secs in seconds.items():
            rates = [len(indices) / s for s in secs]
            rate = len(indices) / statistics.median(secs)
            print(f'  {name:<46} {rate:>10.0f} {min(rates):>7.0f} '
                  f'{max(rates):>7.0f} {1e6 / rate:>7.0f} '
                  f'{rate / tv_rate:>6.2f}')
        ours_rate = len(indices) / statistics.median(
            seconds['ours (normalise on device, not counted)'])
        fair_rate = len(indices) / statistics.median(
            seconds['ours + CPU normalise (like-for-like)'])
        print(f'\n  ratio ours / torchvision: {ours_rate / tv_rate:.2f} '
              f'(with CPU normalise: {fair_rate / tv_rate:.2f}; goal >= 1)')

        device = torch.device(args.device)
        batch_ms = preprocessor_ms(reference, indices, device)
        where = ('on the GPU, off the dataloader workers'
                 if device.type == 'cuda' else
                 'on the CPU, in the training process, one thread')
        print(f'  the data preprocessor (normalisation) takes {batch_ms:.2f} '
              f'ms per batch of 64 on {device.type} = '
              f'{batch_ms * 1e3 / 64:.1f} us/image, {where}')

        if args.profile_images > 0:
            prof = indices[:args.profile_images]
            seed_all(args.seed)
            print_profile('Profile, ours', profile_ours(reference, prof))
            if len(datasets) > 1:
                name, fastest = list(datasets.items())[-1]
                seed_all(args.seed)
                print_profile(f'Profile, {name}', profile_ours(fastest, prof))
            seed_all(args.seed)
            print_profile('Profile, torchvision',
                          profile_torchvision(paths, tv_transform, prof))
        if not args.no_alternatives:
            missing = []
            if not turbojpeg_usable():
                missing.append("imdecode_backend='turbojpeg' (needs "
                               'PyTurboJPEG and the system libturbojpeg)')
            if not simplejpeg_usable():
                missing.append('simplejpeg (pip install simplejpeg)')
            if missing:
                print('\n  not timed: ' + '; '.join(missing))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
