"""Check the evaluation sets before training or testing starts."""
from mmengine.hooks import Hook

from mmreid_tricks.datasets.query_gallery import check_query_gallery
from mmreid_tricks.registry import HOOKS


@HOOKS.register_module()
class CheckQueryGalleryHook(Hook):
    """Fail at once, not after training, if no query can be matched.

    Before training it checks the validation set; before validation and
    testing, the set about to be evaluated; each set once. See
    :func:`~mmreid_tricks.datasets.query_gallery.check_query_gallery`.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checked = set()

    def _check(self, loop, stage: str) -> None:
        if loop is None:
            return
        dataset = loop.dataloader.dataset
        if id(dataset) in self._checked:
            return
        check_query_gallery(dataset, stage)
        self._checked.add(id(dataset))

    def before_train(self, runner) -> None:
        self._check(runner.val_loop, 'val')

    def before_val(self, runner) -> None:
        self._check(runner.val_loop, 'val')

    def before_test(self, runner) -> None:
        self._check(runner.test_loop, 'test')
