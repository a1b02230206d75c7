"""CONTRIBUTING.md's "Adding an op" cannot drift from the code.

Its worked example (``log1p``) quotes the code it added, block by block, each block under a paragraph that
starts with the file's path in backticks. These tests read CONTRIBUTING.md and check that every quoted block is
in the file named above it (verbatim, but for leading and trailing whitespace), that the files named are
exactly the four of the section's table (the scalar engine, the tensor engine, the op table, the docs list),
and that ``log1p`` is where those four files put it. They read files only (no git): the same checks pass on a
plain copy of the files, and fail on a copy where the code or the docs drifted.
"""

import os
import re
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOUR = {"naivegrad/scalar/value.py", "naivegrad/tensor/ops/elementwise.py", "tests/harness/ops_elementwise.py",
        "README.md"}
_FENCE = re.compile(r"^```(\w*)\s*$")
_LEADING_PATH = re.compile(r"^`([\w./-]+\.(?:py|md))`")


def _read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return f.read()


def _section(text, heading):
    """The text under the Markdown heading ``heading`` (a whole line), up to the next heading of its level or
    above."""
    lines = text.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    try:
        start = lines.index(heading) + 1
    except ValueError:
        raise AssertionError(f"no heading {heading!r}") from None
    end = start
    while end < len(lines):
        hashes = len(lines[end]) - len(lines[end].lstrip("#"))
        if 0 < hashes <= level and lines[end][hashes:hashes + 1] == " ":
            break
        end += 1
    return lines[start:end]


def worked_example(root):
    """[(path, code)] for each fenced block of the worked example, with the path that starts the paragraph
    above it."""
    lines = _section(_read(root, "CONTRIBUTING.md"), "### Worked example: `log1p`")
    blocks, i = [], 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        while j > 0 and lines[j - 1].strip() and not _FENCE.match(lines[j - 1]):
            j -= 1  # back to the first line of the paragraph
        heading = _LEADING_PATH.match(lines[j]) if j >= 0 else None
        assert heading, f"the block at line {i} of the worked example has no file path above it: {lines[j]!r}"
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        assert end < len(lines), f"the block at line {i} of the worked example is not closed"
        blocks.append((heading.group(1), "\n".join(lines[i + 1:end])))
        i = end + 1
    return blocks


def files_table(root):
    """The first column of the table of files under "## Adding an op" (its header row starts "| file |")."""
    lines = _section(_read(root, "CONTRIBUTING.md"), "## Adding an op")
    start = next(i for i, line in enumerate(lines) if line.startswith("| file |"))
    paths = []
    for row in lines[start + 2:]:
        if not row.startswith("|"):
            break
        m = _LEADING_PATH.match(row[1:].strip())
        paths.append(m.group(1) if m else row)
    return paths


def problems(root):
    """Everything that makes the worked example disagree with the files it names (an empty list: none)."""
    out = []
    blocks = worked_example(root)
    if not blocks:
        return ["the worked example quotes no code"]
    for path, code in blocks:
        if not os.path.isfile(os.path.join(root, path)):
            out.append(f"{path}: named by the worked example, but there is no such file")
        elif code.strip() not in _read(root, path):
            out.append(f"{path}: this block of the worked example is not in the file:\n{code}")
    named, table = {path for path, _ in blocks}, files_table(root)
    if len(named) > 4:
        out.append(f"the worked example touches {len(named)} files, more than four: {sorted(named)}")
    if named != set(table):
        out.append(f"the worked example names {sorted(named)}, the table of files {sorted(table)}")
    if set(table) != FOUR or len(table) != 4:
        out.append(f"the table of files lists {table}, not the four: {sorted(FOUR)}")
    return out


def test_every_block_of_the_worked_example_is_in_the_file_named_above_it():
    blocks = worked_example(ROOT)
    assert len(blocks) >= 4
    for path, code in blocks:
        assert code.strip() in _read(ROOT, path), f"{path} does not contain the block:\n{code}"


def test_the_worked_example_names_exactly_the_four_files_of_the_table():
    named = {path for path, _ in worked_example(ROOT)}
    table = files_table(ROOT)
    assert len(table) == 4 and set(table) == FOUR, table
    assert named == FOUR and len(named) <= 4, sorted(named)
    assert problems(ROOT) == []


def test_log1p_is_in_the_op_list_on_both_engines_and_in_the_op_table():
    import numpy as np

    import harness
    from harness import dag
    from naivegrad.scalar import Value
    from naivegrad.tensor import REGISTRY, Tensor

    tour = "\n".join(_section(_read(ROOT, "README.md"), "## A short tour"))
    (op_list,) = re.findall(r"^Ops: .*?(?=\n\n)", tour, re.S | re.M)
    assert "`log1p`" in op_list
    assert callable(Value.log1p) and callable(Tensor.log1p) and "log1p" in REGISTRY
    op = harness.get("log1p")
    assert op.value_forms and op.tensor_forms and op.closed_form and dag.FUZZ_OPS["log1p"] == "unary"
    # And it is the op the section describes: log(1 + x), accurate for tiny x, IEEE at the pole.
    assert [Value(x).log1p().data for x in (1e-20, -1.0)] == [1e-20, -np.inf] and np.isnan(Value(-2.0).log1p().data)
    t = Tensor(np.array([1e-20, -1.0, -2.0, 1.0]))
    out = t.log1p()
    out.backward(np.ones(4))
    np.testing.assert_array_equal(out.data, [1e-20, -np.inf, np.nan, np.log(2.0)])
    np.testing.assert_array_equal(t.grad, [1.0, np.inf, -1.0, 0.5])


def _copy(tmp_path):
    for path in FOUR | {"CONTRIBUTING.md"}:
        os.makedirs(os.path.dirname(os.path.join(tmp_path, path)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, path), os.path.join(tmp_path, path))
    return str(tmp_path)


def _edit(root, path, old, new):
    text = _read(root, path)
    assert text.count(old) == 1, (path, old)
    with open(os.path.join(root, path), "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


def test_the_checks_need_only_the_files_and_no_git(tmp_path):
    root = _copy(tmp_path)
    assert not os.path.exists(os.path.join(root, ".git"))
    assert problems(root) == []


@pytest.mark.parametrize("drift", ["code", "docs", "fifth file"])
def test_the_checks_catch_drift(tmp_path, drift):
    root = _copy(tmp_path)
    if drift == "code":  # the rule changes, CONTRIBUTING does not
        _edit(root, "naivegrad/scalar/value.py", "return (div(1.0, 1.0 + x),)", "return (div(1.0, x + 1.0),)")
        want = "naivegrad/scalar/value.py: this block"
    elif drift == "docs":  # the README's op list loses the op
        _edit(root, "README.md", "`log`, `log1p`, `sqrt`,", "`log`, `sqrt`,")
        want = "README.md: this block"
    else:  # the example needs one more file
        _edit(root, "CONTRIBUTING.md", "`README.md`, in \"A short tour\": the op list.",
              "`naivegrad/tensor/tensor.py`, a method.\n\n```python\nclass Tensor:\n```\n\n"
              "`README.md`, in \"A short tour\": the op list.")
        os.makedirs(os.path.join(root, "naivegrad/tensor"), exist_ok=True)
        shutil.copy(os.path.join(ROOT, "naivegrad/tensor/tensor.py"), os.path.join(root, "naivegrad/tensor/tensor.py"))
        want = "more than four"
    found = problems(root)
    assert any(want in p for p in found), found
