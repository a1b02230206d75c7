"""The mutation check (bench/mutation.py) as a test: slow (minutes), so it runs only on request:

    NAIVEGRAD_MUTATION=1 PYTHONPATH=. python -m pytest tests/mutation -q

The quick tests here check the machinery itself: faults apply to a copy, never to the working tree.
"""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.environ.get("NAIVEGRAD_MUTATION") == "1"


def _load():
    spec = importlib.util.spec_from_file_location("naivegrad_mutation", os.path.join(ROOT, "bench", "mutation.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mutation = _load()
# Faults apply to the committed files (HEAD): a source archive or sdist has none, and skips with the reason.
pytestmark = pytest.mark.skipif(not mutation.in_git_checkout(), reason=mutation.NOT_A_CHECKOUT)


def test_there_are_at_least_twenty_faults_of_many_kinds_in_both_engines():
    faults = mutation.FAULTS
    assert len(faults) >= 20
    assert len({f.name for f in faults}) == len(faults)
    assert {f.path.split("/")[1] for f in faults} == {"scalar", "tensor"}
    kinds = " ".join(f.kind for f in faults)
    for kind in ("flipped sign", "dropped term", "wrong axis (unbroadcast)", "missing accumulation (indexing)",
                 "wrong tie rule"):
        assert kind in kinds


def test_a_fault_is_applied_to_a_copy_and_the_working_tree_stays_as_it_was(tmp_path):
    path = "naivegrad/scalar/value.py"
    committed = mutation._source(path)  # the copy is made from HEAD
    with open(os.path.join(ROOT, path)) as f:
        on_disk = f.read()
    line = next(line for line in committed.splitlines() if line.strip() and committed.count(line) == 1)
    fault = mutation.Fault("demo", "test", path, line, line + "  # mutated", "add")
    mutation.copy_package(str(tmp_path))
    mutation.apply(fault, str(tmp_path))
    with open(os.path.join(tmp_path, fault.path)) as f:
        mutated = f.read()
    with open(os.path.join(ROOT, fault.path)) as f:
        assert f.read() == on_disk
    assert mutated == committed.replace(fault.old, fault.new)
    mutation.check_copy_is_used(str(tmp_path))


def test_a_fault_whose_text_is_gone_is_reported_not_skipped(tmp_path):
    fault = mutation.Fault("gone", "test", mutation.FAULTS[0].path, "text that is nowhere", "x", "add")
    mutation.copy_package(str(tmp_path))
    with pytest.raises(ValueError, match="occurs 0 times"):
        mutation.apply(fault, str(tmp_path))
    assert mutation.stale([fault]) == ["gone"]


def test_every_fault_still_finds_its_text_once():
    # Code that moves on leaves a fault without its text: the slow check would report it as an error, so the
    # quick suite says it first, naming the fault to update.
    assert mutation.stale(mutation.FAULTS) == []


@pytest.mark.slow
@pytest.mark.skipif(not RUN, reason="the mutation check takes minutes: set NAIVEGRAD_MUTATION=1 to run it")
def test_every_fault_is_caught_by_the_parity_suite():
    assert not mutation.stale(), f"faults to update to the current engine sources: {mutation.stale()}"
    assert mutation.main(["-j", "2"]) == 0
