from .identity_sampler import RandomIdentitySampler
from .seeded_index import SeededIndex

__all__ = ['RandomIdentitySampler', 'SeededIndex']
