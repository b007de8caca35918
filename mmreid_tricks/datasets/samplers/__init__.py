from .identity_sampler import RandomIdentitySampler

__all__ = ['RandomIdentitySampler']
