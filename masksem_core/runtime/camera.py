"""Camera / video / still-image frames → MediaPipe Pose world landmarks → NTU-25 joints."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from masksem_core.errors import MaskSemError
from masksem_core.skeleton import mediapipe_to_ntu25

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class SourceError(MaskSemError, ValueError):
    """A camera, video or image that cannot be opened or read."""


def open_frames(
    source: str, rate_hz: float, loop: bool = False
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (capture time in seconds since the epoch, BGR frame).

    ``source`` is a camera index ("0"), a video file, or an image file (republished at
    ``rate_hz``, a stand-in for a camera in tests and demos). Video files are paced at their
    own frame rate; ``loop`` restarts them at the end.
    """
    import cv2

    path = Path(source)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(path))
        if image is None:
            raise SourceError(f"cannot read image {source}")
        period = 1.0 / rate_hz
        while True:
            start = time.time()
            yield start, image
            time.sleep(max(0.0, period - (time.time() - start)))
    device = int(source) if source.isdigit() else str(path)
    if isinstance(device, str) and not path.is_file():
        raise SourceError(
            f"video file {source} does not exist (give a camera index, a video or an image path)"
        )
    capture = cv2.VideoCapture(device)
    if not capture.isOpened():
        raise SourceError(
            f"cannot open {'camera' if isinstance(device, int) else 'video'} {source}"
        )
    fps = capture.get(cv2.CAP_PROP_FPS) or rate_hz
    period = 1.0 / min(fps, rate_hz) if isinstance(device, str) else 0.0
    try:
        while True:
            start = time.time()
            ok, frame = capture.read()
            if not ok:
                if isinstance(device, str) and loop:
                    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                return
            yield start, frame
            if period:
                time.sleep(max(0.0, period - (time.time() - start)))
    finally:
        capture.release()


class MediaPipeSkeletonizer:
    """MediaPipe Pose (model_complexity=1, bundled with mediapipe 0.10.21, offline) → NTU-25."""

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        static_image: bool = False,
        model_complexity: int = 1,
    ) -> None:
        import mediapipe as mp

        self.pose = mp.solutions.pose.Pose(
            static_image_mode=static_image,
            model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )

    def __call__(self, frame_bgr: np.ndarray) -> np.ndarray | None:
        """NTU-25 joints (25, 3) in metres, NTU camera axes; None when no person is found."""
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        result = self.pose.process(rgb)
        if result.pose_world_landmarks is None:
            return None
        landmarks = np.array(
            [[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark], dtype=np.float32
        )
        return mediapipe_to_ntu25(landmarks)

    def close(self) -> None:
        self.pose.close()
