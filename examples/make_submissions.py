"""Rebuild examples/submissions/ from reference/ (run after changing the course material).

alice      every notebook, the reference solutions: full automatic marks
bob        every notebook, two autograd answers, `train` and `broadcast_add` wrong (misconceptions from reference/wrong/)
张伟.ipynb  one notebook file: autograd done, logistic regression and tensors missing
dana       01_autograd.ipynb is cut off mid-file (not JSON); 02 and 03 are the untouched exercises
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
COURSE = HERE.parent
OUT = HERE / "submissions"


def reference(name: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE / "reference" / name, as_version=4)


def with_wrong(nb: nbformat.NotebookNode, *snippets: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for snippet in snippets:
        exercise, name = snippet.split("/")
        source = (COURSE / "reference" / "wrong" / exercise / f"{name}.py").read_text(encoding="utf-8")
        nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "alice").mkdir(parents=True)
    nbformat.write(reference("01_autograd.ipynb"), OUT / "alice" / "01_autograd.ipynb")
    nbformat.write(reference("02_logistic_regression.ipynb"), OUT / "alice" / "02_logistic_regression.ipynb")
    nbformat.write(reference("03_tensors.ipynb"), OUT / "alice" / "03_tensors.ipynb")

    (OUT / "bob").mkdir()
    nbformat.write(with_wrong(reference("01_autograd.ipynb"), "autograd/grad_tensors__ignores_weights",
                              "autograd/accumulation__never_zeroed"), OUT / "bob" / "01_autograd.ipynb")
    nbformat.write(with_wrong(reference("02_logistic_regression.ipynb"), "logistic_regression/train__no_zero_grad"),
                   OUT / "bob" / "02_logistic_regression.ipynb")
    nbformat.write(with_wrong(reference("03_tensors.ipynb"), "tensors/broadcast_add__row_major"),
                   OUT / "bob" / "03_tensors.ipynb")

    nbformat.write(reference("01_autograd.ipynb"), OUT / "张伟.ipynb")

    (OUT / "dana").mkdir()
    text = nbformat.writes(nbformat.read(COURSE / "exercises" / "01_autograd.ipynb", as_version=4))
    (OUT / "dana" / "01_autograd.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    shutil.copyfile(COURSE / "exercises" / "02_logistic_regression.ipynb", OUT / "dana" / "02_logistic_regression.ipynb")
    shutil.copyfile(COURSE / "exercises" / "03_tensors.ipynb", OUT / "dana" / "03_tensors.ipynb")


if __name__ == "__main__":
    main()
