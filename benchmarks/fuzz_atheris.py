"""Coverage-guided fuzzing of the image decoders and the image-archive reader with atheris (optional).

atheris (Google's libFuzzer for Python) mutates byte strings to reach new code paths in tamrin.data
and in Pillow's Python plug-ins. Each input is used twice: as an image file's bytes (decode path)
and as a .tar archive of an image folder (tar reader + decode). Allowed outcomes: a data set (bad
images listed in ds.skipped) or one UserError line. Anything else is a crash that atheris reports
with the input that caused it.

    pip install atheris
    PYTHONPATH=. python benchmarks/fuzz_atheris.py -atheris_runs=100000      # libFuzzer options work too
    PYTHONPATH=. python benchmarks/fuzz_atheris.py corpus_dir/ -max_total_time=600

tests/test_fuzz_atheris.py runs a short session when atheris is installed (skipped otherwise).
"""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy  # noqa: E402,F401  (imported first: not worth instrumenting)

# coverage feedback from tamrin and Pillow only (its image plug-ins are Python code); instrumenting
# everything imported (numpy, tqdm...) made start-up ten times slower
with atheris.instrument_imports(include=["tamrin", "PIL"]):
    import PIL.Image  # noqa: F401
    from tamrin.data.folder import decode_to_dataset, load_image_folder
    from tamrin.errors import UserError

TMP = tempfile.mkdtemp(prefix="tamrin-atheris-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
os.environ.setdefault("TAMRIN_DATA", TMP)


def _check(ds, n_inputs: int) -> None:
    if len(ds) + len(ds.skipped) < n_inputs and n_inputs == 1:
        raise AssertionError(f"an input was neither loaded nor skipped: {ds.skipped}")
    if ds.images.dtype.name != "uint8" or len(ds.labels) != len(ds.images):
        raise AssertionError("malformed data set")


def test_one_input(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fdp = atheris.FuzzedDataProvider(data)
        size = fdp.PickValueInList([None, (4, 4), (3, 7)])
        mode = fdp.PickValueInList([None, "L", "RGB"])
        blob = fdp.ConsumeBytes(fdp.remaining_bytes())
        _check(decode_to_dataset([blob], ["x.png"], [0], ["c"], size, mode), 1)
        tar = Path(TMP) / "input.tar"
        tar.write_bytes(blob)
        try:
            ds = load_image_folder(tar, "train", size=size, mode=mode, cache=False)
        except UserError as e:
            if "\n" in str(e):
                raise AssertionError(f"UserError of more than one line: {e!r}") from None
            return
        _check(ds, 0)


def main(argv=None) -> None:
    atheris.Setup(list(sys.argv if argv is None else argv), test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
