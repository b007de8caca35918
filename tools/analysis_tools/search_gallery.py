"""Build a gallery index with a trained model, and search it.

    python tools/analysis_tools/search_gallery.py build CONFIG CHECKPOINT \
        GALLERY_DIR --out gallery.npz
    python tools/analysis_tools/search_gallery.py build CONFIG CHECKPOINT \
        --test-set --out gallery.npz   # the config's test gallery
    python tools/analysis_tools/search_gallery.py query CONFIG CHECKPOINT \
        gallery.npz QUERY [QUERY ...] -k 10 [--rerank] [--aqe] [--out r.json]

QUERY and GALLERY_DIR are images or folders (searched recursively). The
index records the model; querying it with another one is refused. See
docs/apis.md.
"""
import argparse
import json
from typing import List, Optional

from mmengine.config import DictAction

from mmreid_tricks.apis import GalleryIndex, ReIDFeatureExtractor


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Gallery index and search')
    sub = parser.add_subparsers(dest='command', required=True)
    build = sub.add_parser('build', help='embed a gallery and save it')
    query = sub.add_parser('query', help='rank a saved gallery for images')
    for p in (build, query):
        p.add_argument('config', help='config file')
        p.add_argument('checkpoint', help='checkpoint file')
    build.add_argument('gallery', nargs='*', help='gallery images/folders')
    build.add_argument(
        '--test-set',
        action='store_true',
        help="the config's test set, queries left out")
    build.add_argument('--out', required=True, help='index file (.npz)')
    build.add_argument(
        '--float16',
        action='store_true',
        help='store the embeddings in float16')
    query.add_argument('index', help='index file written by build')
    query.add_argument('queries', nargs='+', help='query images/folders')
    query.add_argument('-k', type=int, default=10, help='results per query')
    query.add_argument(
        '--rerank', action='store_true', help='k-reciprocal re-ranking')
    query.add_argument('--aqe', action='store_true', help='alpha-QE')
    query.add_argument('--out', help='write the ranked lists as JSON')
    for p in (build, query):
        p.add_argument('--device', help="default: 'cuda' if available")
        p.add_argument('--batch-size', type=int)
        p.add_argument(
            '--on-error',
            choices=('raise', 'skip'),
            default='raise',
            help='an unreadable image')
        p.add_argument(
            '--cfg-options',
            nargs='+',
            action=DictAction,
            help='override config keys')
    args = parser.parse_args(argv)
    if args.command == 'build' and bool(args.gallery) == args.test_set:
        parser.error('build takes gallery images/folders or --test-set')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    extractor = ReIDFeatureExtractor(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options,
        batch_size=args.batch_size,
        on_error=args.on_error)
    if args.command == 'build':
        import torch
        source = (
            extractor.cfg.test_dataloader.dataset
            if args.test_set else args.gallery)
        index = GalleryIndex.build(
            extractor,
            source,
            dtype=torch.float16 if args.float16 else torch.float32)
        print(f'{len(index)} gallery images -> {index.save(args.out)}')
        return
    index = GalleryIndex.load(args.index, extractor)
    queries = extractor(args.queries)
    result = index.search(
        queries.features, args.k, aqe=args.aqe, rerank=args.rerank)
    ranked = [
        dict(
            query=path,
            results=[
                dict(path=p, distance=float(d)) for p, d in zip(paths, dists)
            ]) for path, paths, dists in zip(queries.paths, result.paths,
                                             result.distances)
    ]
    for item in ranked:
        print(item['query'])
        for rank, hit in enumerate(item['results'], 1):
            print(f'  {rank:3d}  {hit["distance"]:.4f}  {hit["path"]}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(ranked, f, indent=1)


if __name__ == '__main__':
    main()
