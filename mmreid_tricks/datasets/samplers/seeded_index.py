"""A data set index that carries the seed of its sample's random draws."""


class SeededIndex(int):
    """An ``int`` index with the seed of the sample's random transforms.

    A sampler yields these so that the random augmentation of every sample
    depends on its place in the epoch and not on the dataloader worker that
    happens to load it nor on the samples loaded before it: a data set that
    knows them (ours, see :meth:`Market1501.__getitem__`) seeds the global
    generators with :attr:`seed` around the pipeline. Any other data set
    sees a plain ``int``.

    Args:
        index (int): The index into the data set.
        seed (int): The seed of this sample's random draws, in [0, 2**64).
    """

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        return obj

    def __reduce__(self):
        # Pickled to the dataloader workers with the seed.
        return (SeededIndex, (int(self), self.seed))
