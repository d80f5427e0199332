"""Rebuild examples/submissions/ from reference/ (run after changing the course material).

alice      both notebooks, the reference solutions: full automatic marks
bob        both notebooks, two autograd answers and `train` wrong (misconceptions from reference/wrong/)
张伟.ipynb  one notebook file: autograd done, logistic regression missing
dana       01_autograd.ipynb is cut off mid-file (not JSON); 02 is the untouched exercise
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

    (OUT / "bob").mkdir()
    nbformat.write(with_wrong(reference("01_autograd.ipynb"), "autograd/grad_tensors__ignores_weights",
                              "autograd/accumulation__never_zeroed"), OUT / "bob" / "01_autograd.ipynb")
    nbformat.write(with_wrong(reference("02_logistic_regression.ipynb"), "logistic_regression/train__no_zero_grad"),
                   OUT / "bob" / "02_logistic_regression.ipynb")

    nbformat.write(reference("01_autograd.ipynb"), OUT / "张伟.ipynb")

    (OUT / "dana").mkdir()
    text = nbformat.writes(nbformat.read(COURSE / "exercises" / "01_autograd.ipynb", as_version=4))
    (OUT / "dana" / "01_autograd.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    shutil.copyfile(COURSE / "exercises" / "02_logistic_regression.ipynb", OUT / "dana" / "02_logistic_regression.ipynb")


if __name__ == "__main__":
    main()
