"""One configuration mechanism for every model that :mod:`pyg_dss.checkpoint`
saves: the constructor arguments as plain data, and the way back."""
from __future__ import annotations

from typing import Any, Dict, Type, TypeVar

__all__ = ["Configurable"]

T = TypeVar("T", bound="Configurable")


def _plain(value: Any) -> Any:
    # JSON has lists, not tuples: a config must survive a round trip unchanged.
    return list(value) if isinstance(value, tuple) else value


class Configurable:
    """Mixin: ``config`` (the constructor arguments, as plain data) and
    ``from_config`` (``cls(**config)``).  A subclass stores its arguments with
    :meth:`_store_config` in its constructor, or overrides
    :meth:`_constructor_args` when some argument cannot be plain data."""
    _config: Dict[str, Any]

    def _store_config(self, **arguments: Any) -> None:
        self._config = arguments

    def _constructor_args(self) -> Dict[str, Any]:
        return self._config

    @property
    def config(self) -> Dict[str, Any]:
        """The constructor arguments as plain data:
        ``type(model).from_config(model.config)`` builds the same network (see
        :func:`pyg_dss.checkpoint.save_model`)."""
        return {k: _plain(v) for k, v in self._constructor_args().items()}

    @classmethod
    def from_config(cls: Type[T], config: Dict[str, Any]) -> T:
        """Builds a network from :attr:`config`."""
        return cls(**config)
