"""Every Python block of the README runs as written (and says what it claims where it shows a result)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_block_runs(i):
    np.random.seed(0)
    namespace = {"__name__": f"readme_block_{i}"}
    exec(compile(BLOCKS[i], f"README.md python block {i}", "exec"), namespace)


def test_the_short_tour_prints_what_it_says():
    ns = {}
    exec(BLOCKS[0], ns)
    a, b = ns["a"], ns["b"]
    assert (round(a.grad, 3), b.grad) == (-2.929, 2.0)
