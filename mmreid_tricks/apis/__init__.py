"""Use a trained ReID model: extract embeddings, search a gallery."""
from .feature_extractor import ExtractedFeatures, ReIDFeatureExtractor
from .image_inputs import IMG_EXTENSIONS, list_images
from .model_loading import build_model

__all__ = [
    'ExtractedFeatures', 'IMG_EXTENSIONS', 'ReIDFeatureExtractor',
    'build_model', 'list_images'
]
