"""The grid experiments of Maron et al. (2020): sets of 1D signals, of images
and of video frames, as dense tensors in plain torch Datasets."""
from . import images, signals, tasks, video
from .images import *  # noqa: F401,F403  (the names listed in images.__all__)
from .signals import *  # noqa: F401,F403
from .video import *  # noqa: F401,F403
from .tasks import *  # noqa: F401,F403

__all__ = signals.__all__ + images.__all__ + video.__all__ + tasks.__all__
