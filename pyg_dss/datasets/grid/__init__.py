"""The grid experiments of Maron et al. (2020): sets of 1D signals, of images
and of video frames, as dense tensors in plain torch Datasets."""
from . import images, signals, tasks, video
from .images import *  # noqa: F403  (the names listed in images.__all__)
from .signals import *  # noqa: F403  (signals.__all__)
from .tasks import *  # noqa: F403  (tasks.__all__)
from .video import *  # noqa: F403  (video.__all__)

__all__ = signals.__all__ + images.__all__ + video.__all__ + tasks.__all__
