"""The runnable examples in docstrings (kornia style): each listed module has at least one, and all pass."""

import doctest
import importlib

import pytest

MODULES = ["primary_mask.functional.erase", "primary_mask.transforms.erase"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(module, globs=vars(module).copy()) if t.examples]
    assert tests, f"{name} has no docstring example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (see the output above)"
