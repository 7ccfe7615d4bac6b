"""The course notebooks: each runs top to bottom in a fresh kernel, and is kept clean in git.

Executed with nbclient (Jupyter's own notebook runner, the engine behind ``jupyter
nbconvert --execute``), in the notebook's folder as Jupyter would, with the
environment of this test process (so the kernel imports the same ``minigrad``). A cell
that raises fails the test with the cell and its traceback.
"""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path

import nbclient  # the dev extra installs it (and nbformat, ipykernel)
import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
COURSE = [
    "01-derivatives-and-the-chain-rule.ipynb",
    "02-the-graph-walk.ipynb",
    "03-a-neuron-and-an-mlp.ipynb",
    "04-tensors-and-broadcasting.ipynb",
    "05-batchnorm-as-a-composite.ipynb",
    "06-backprop-ninja-batchnorm.ipynb",
    "07-what-batchnorm-does.ipynb",
]
BUDGET = 120.0  # seconds per notebook, the course's promise on 2 cores
NINJA = "06-backprop-ninja-batchnorm.ipynb"
CLEAR = "clear them with: jupyter nbconvert --clear-output --inplace notebooks/*.ipynb"


def read(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def execute(nb) -> float:
    """Run every cell of ``nb`` in a fresh kernel, in the notebooks folder; seconds taken."""
    client = nbclient.NotebookClient(
        nb,
        timeout=600,  # per cell: a hung cell fails instead of hanging the suite
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def test_the_course_is_these_seven_notebooks():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == COURSE


@pytest.mark.parametrize("name", COURSE)
def test_notebook_runs_top_to_bottom(name):
    seconds = execute(read(name))
    print(f"{name}: {seconds:.1f} s")
    assert seconds < BUDGET, f"{name} took {seconds:.0f} s, over the {BUDGET:.0f} s budget"


@pytest.mark.parametrize("name", COURSE)
def test_notebook_is_stored_without_outputs(name):
    """Outputs stay out of git (see notebooks/README.md): no stale numbers, small diffs."""
    nb = read(name)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            where = f"{name} cell {i}"
            assert cell.outputs == [], f"{where} has outputs: {CLEAR}"
            assert cell.execution_count is None, f"{where} has an execution count: {CLEAR}"
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("number, name", list(enumerate(COURSE, start=1)))
def test_notebook_has_a_title_a_summary_and_a_way_on(number, name):
    nb = read(name)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown"
    assert re.match(rf"# {number}\. \S", first.source), first.source[:60]
    assert last.cell_type == "markdown" and "## What you can now do" in last.source
    for target in re.findall(r"\]\(([^)#]+\.ipynb)\)", last.source):
        assert (NOTEBOOKS / target).is_file(), target
    if number < len(COURSE):
        assert f"]({COURSE[number]})" in last.source, "the last cell points to the next chapter"


def test_notebooks_import_only_the_installed_package():
    for name in COURSE:
        for cell in read(name).cells:
            if cell.cell_type == "code":
                assert "sys.path" not in cell.source, name


def test_chapter_7_links_the_why_batchnorm_examples():
    text = "\n".join(c.source for c in read("07-what-batchnorm-does.ipynb").cells)
    for path in [
        "../examples/noisy_batchnorm.py",
        "../examples/ics_measured.py",
        "../examples/loss_smoothness.py",
        "../docs/examples/why-batchnorm-works.md",
    ]:
        assert f"]({path})" in text, path


# ---------------------------------------------------------------- the backprop-ninja exercise


def answer_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if "answer" in c.metadata.get("tags", [])]


def test_ninja_answers_are_hidden_cells_after_each_blank():
    nb = read(NINJA)
    answers = answer_cells(nb)
    assert len(answers) == 4  # one per stage
    for i in answers:
        assert nb.cells[i].metadata["jupyter"]["source_hidden"] is True
        assert "= ..." in nb.cells[i - 1].source, "the cell before an answer holds the blanks"
        assert "checker.check(" in nb.cells[i + 1].source, "the cell after an answer checks it"


def test_ninja_with_the_answers_cleared_fails_at_stage_1_saying_what_is_missing():
    nb = read(NINJA)
    for i in answer_cells(nb):
        nb.cells[i].source = ""
    with pytest.raises(CellExecutionError) as info:
        execute(nb)
    message = str(info.value)
    assert "TypeError" in message
    assert "'1: through the scale and shift'" in message and "dbeta is not filled in yet" in message


def test_ninja_with_a_wrong_stage_3_names_the_stage_the_array_and_the_element():
    nb = read(NINJA)
    stage3 = answer_cells(nb)[2]
    wrong = copy.deepcopy(nb.cells[stage3])
    # the classic mistake: xc gets only the normalization's gradient, not the variance's
    wrong.source = wrong.source.replace(" + dvar * 2.0 * xc.data / N", "")
    assert wrong.source != nb.cells[stage3].source
    nb.cells[stage3] = wrong
    with pytest.raises(CellExecutionError) as info:
        execute(nb)
    message = str(info.value)
    assert "StageError" in message
    assert re.search(
        r"'3: through the variance and the mean, to x': dxc is wrong at element \(\d+, \d+\)",
        message,
    )
