"""Use a trained ReID model: extract embeddings, search a gallery."""
from .feature_extractor import ExtractedFeatures, ReIDFeatureExtractor
from .gallery_index import GalleryIndex, SearchResult, metric_settings
from .image_inputs import IMG_EXTENSIONS, list_images
from .mmpretrain_config import to_mmpretrain_config
from .model_loading import build_model
from .reid_retriever import ReIDRetriever
from .topk_search import topk_from_blocks, topk_search

__all__ = [
    'ExtractedFeatures', 'GalleryIndex', 'IMG_EXTENSIONS',
    'ReIDFeatureExtractor', 'ReIDRetriever', 'SearchResult', 'build_model',
    'list_images', 'metric_settings', 'to_mmpretrain_config',
    'topk_from_blocks', 'topk_search'
]
