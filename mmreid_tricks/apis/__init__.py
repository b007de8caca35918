"""Use a trained ReID model: extract embeddings, search a gallery."""
from .feature_extractor import ExtractedFeatures, ReIDFeatureExtractor
from .gallery_index import GalleryIndex, SearchResult, metric_settings
from .image_inputs import IMG_EXTENSIONS, list_images
from .model_loading import build_model
from .topk_search import topk_from_blocks, topk_search

__all__ = [
    'ExtractedFeatures', 'GalleryIndex', 'IMG_EXTENSIONS',
    'ReIDFeatureExtractor', 'SearchResult', 'build_model', 'list_images',
    'metric_settings', 'topk_from_blocks', 'topk_search'
]
