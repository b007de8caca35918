from .reid_retriever import ReIDRetriever

__all__ = ['ReIDRetriever']
