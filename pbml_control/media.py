"""Video files from rendered frames: an H.264 MP4 and a small real-time GIF, written atomically.

Kept apart from rendering (render.py makes frames with MuJoCo; this module only encodes them),
so it imports neither MuJoCo nor a GL backend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pbml_control.atomic import atomic_output

__all__ = ["GIF_MAX_FPS", "write_media"]

GIF_MAX_FPS = 50.0


def _shared_palette(frames: list[np.ndarray], colors: int = 96) -> list[Any]:
    """Frames quantised to ONE palette drawn from a strip of sampled frames.

    A palette per frame (PIL's default) changes every pixel's index from frame to frame, so
    the GIF's LZW compression gains little from the still parts: one palette took a 150-step
    256x192 HalfCheetah clip from 1.57 MB to 0.93 MB.
    """
    from PIL import Image

    picks = frames[:: max(1, len(frames) // 8)]
    strip = Image.fromarray(np.concatenate(picks, axis=0))
    palette = strip.quantize(colors=colors, dither=Image.Dither.NONE)
    return [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]


def write_media(
    frames: Iterable[np.ndarray],
    video: Path,
    fps: float,
    gif: Path | None = None,
    gif_fps: float | None = None,
) -> int:
    """Stream frames into an H.264 MP4 (and a looping GIF); returns the number of frames.

    Both files are built under hidden temporary names in their folder and renamed into place
    when complete (atomic.py): a kill, a signal or an error mid-render leaves no truncated
    video under the final name, and an older file of that name stays as it was.
    """
    import imageio.v2 as imageio

    video.parent.mkdir(parents=True, exist_ok=True)
    gif_frames: list[np.ndarray] = []
    # GIF delays are whole centiseconds and browsers slow delays under 20 ms to 100 ms, so a
    # 125 fps Hopper video keeps every k-th frame in its GIF, still in real time.
    gif_every = max(1, math.ceil(fps / min(gif_fps or GIF_MAX_FPS, GIF_MAX_FPS)))
    count = 0
    with atomic_output(video) as partial_video:
        writer = imageio.get_writer(
            partial_video,
            format="FFMPEG",
            fps=fps,
            codec="libx264",
            quality=7,
            macro_block_size=2,
            pixelformat="yuv420p",
            # ffmpeg's warnings are noise to a user: stopped before its first frame was
            # encoded (Ctrl-C early in a render), it warns that the output is empty
            ffmpeg_log_level="error",
        )
        try:
            for frame in frames:
                writer.append_data(frame)
                if gif is not None and count % gif_every == 0:
                    gif_frames.append(frame)
                count += 1
        finally:
            writer.close()
        if gif is not None:
            images = _shared_palette(gif_frames)
            with atomic_output(gif) as partial_gif:
                images[0].save(
                    partial_gif,
                    format="GIF",
                    save_all=True,
                    append_images=images[1:],
                    duration=int(round(1000.0 * gif_every / fps, -1)),
                    loop=0,
                    optimize=True,
                )
    return count
