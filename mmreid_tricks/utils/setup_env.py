"""Register every module of mmreid_tricks and set its default scope."""
import datetime

from mmengine.registry import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module of mmreid_tricks so that they are registered.

    Args:
        init_default_scope (bool): Also make ``mmreid_tricks`` the current
            default scope, as ``default_scope='mmreid_tricks'`` in a config
            does. Defaults to True.
    """
    import mmreid_tricks.datasets  # noqa: F401
    import mmreid_tricks.engine  # noqa: F401
    import mmreid_tricks.evaluation  # noqa: F401
    import mmreid_tricks.models  # noqa: F401
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmreid_tricks', scope_name='mmreid_tricks')
    elif current.scope_name != 'mmreid_tricks':
        # Instance names must be unique.
        DefaultScope.get_instance(
            f'mmreid_tricks-{datetime.datetime.now()}',
            scope_name='mmreid_tricks')
