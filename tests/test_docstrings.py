"""numpydoc validation of the public docstrings, and the examples in the docs."""

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from numpydoc.docscrape import get_doc_object
from numpydoc.validate import validate

import sklearn_deeplinear

PACKAGE = "sklearn_deeplinear"
DOC_DIR = Path(__file__).resolve().parents[1] / "doc"

# numpydoc checks that do not apply, chosen as scikit-learn chooses them:
# RT02 wants the type alone on the first line of a Returns entry, but these
# docstrings name the returned value ("self : object"), as scikit-learn does.
# GL01 (before numpydoc 1.11) rejects a summary on the line of the opening
# quotes, which PEP 257 allows and these docstrings use.
IGNORED_CHECKS = {"RT02", "GL01"}
# A method is explained, cross-referenced and demonstrated in its class's
# docstring, so it needs no extended summary (ES01), See Also (SA01) or
# Examples (EX01) of its own. Classes and functions need all three.
IGNORED_FOR_METHODS = {"ES01", "SA01", "EX01"}


def public_modules():
    """Return the package and its public submodules, such as ``datasets``."""
    modules = [sklearn_deeplinear]
    for info in pkgutil.iter_modules(sklearn_deeplinear.__path__):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{PACKAGE}.{info.name}"))
    return modules


def exported_objects():
    """Return ``{dotted name: object}`` for everything in a public ``__all__``.

    Submodules listed there, such as ``datasets``, are left out: their own
    ``__all__`` lists what they export.
    """
    exported = {}
    for module in public_modules():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not inspect.ismodule(obj):
                exported[f"{module.__name__}.{name}"] = obj
    return exported


def own_public_members(cls):
    """Return ``{name: member}`` for the public methods and properties of ``cls``
    that this package defines.

    Methods inherited from scikit-learn (``score``, ``get_params``,
    ``set_fit_request``...) carry scikit-learn's docstrings, which its own
    test suite validates.
    """
    members = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith(PACKAGE):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(member, classmethod | staticmethod):
                member = member.__func__
            if inspect.isfunction(member) or isinstance(member, property):
                members[name] = member
    return members


def documented_objects():
    """Return ``{dotted name: (object, is_member)}`` for every object to check."""
    objects = {}
    for name, obj in exported_objects().items():
        if inspect.isclass(obj) or inspect.isfunction(obj):
            objects[name] = (obj, False)
        if inspect.isclass(obj):
            for member_name, member in own_public_members(obj).items():
                objects[f"{name}.{member_name}"] = (member, True)
    return objects


def docstring_errors(obj, is_member):
    """Return the numpydoc errors of ``obj`` that apply, as ``code: message``."""
    ignored = IGNORED_CHECKS | (IGNORED_FOR_METHODS if is_member else set())
    if isinstance(obj, property):
        # A property documents a value, so it has no Parameters or Returns.
        ignored = ignored | {"PR01", "RT01"}
        obj = obj.fget
    result = validate(get_doc_object(obj))
    return [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in ignored
    ]


DOCUMENTED = documented_objects()


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_public_docstring_is_valid(name):
    obj, is_member = DOCUMENTED[name]
    errors = docstring_errors(obj, is_member)
    assert not errors, f"{name} has docstring errors:\n" + "\n".join(errors)


def test_estimator_and_its_methods_are_checked():
    # Guards the discovery above: an empty or partial list would pass silently.
    estimator = f"{PACKAGE}.DeepLinearRegressor"

    assert estimator in DOCUMENTED
    assert f"{estimator}.fit" in DOCUMENTED
    assert f"{estimator}.predict" in DOCUMENTED
    assert f"{estimator}.score" not in DOCUMENTED  # inherited from scikit-learn


def _misdocumented(X, n_steps=1):
    """Compute something.

    Parameters
    ----------
    X : ndarray
        Data.
    steps : int
        Number of steps.
    """
    return X


def test_validation_reports_misdocumented_function():
    codes = {error.split(":")[0] for error in docstring_errors(_misdocumented, True)}

    assert "PR01" in codes  # n_steps is not documented
    assert "PR02" in codes  # steps is not a parameter
    assert "RT01" in codes  # no Returns section


def test_public_modules_declare_all():
    for module in public_modules():
        assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"


def api_reference_entries():
    """Return the dotted names listed in the autosummary tables of ``api.rst``."""
    entries = set()
    current_module = PACKAGE
    in_autosummary = False
    for line in (DOC_DIR / "api.rst").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith(".. currentmodule::"):
            current_module = stripped.split("::")[1].strip()
            in_autosummary = False
        elif stripped.startswith(".. autosummary::"):
            in_autosummary = True
        elif in_autosummary and line and not line[0].isspace():
            in_autosummary = False
        elif in_autosummary and stripped and not stripped.startswith(":"):
            entries.add(f"{current_module}.{stripped.lstrip('~')}")
    return entries


def test_api_reference_lists_every_export():
    exported = set(exported_objects())
    listed = api_reference_entries()

    assert exported - listed == set(), "exported but missing from doc/api.rst"
    assert listed - exported == set(), "listed in doc/api.rst but not exported"


DOC_PAGES_WITH_EXAMPLES = sorted(
    path.name
    for path in DOC_DIR.glob("*.rst")
    if re.search(r"^\s*>>> ", path.read_text(), flags=re.MULTILINE)
)


@pytest.mark.parametrize("page", DOC_PAGES_WITH_EXAMPLES)
def test_doc_page_examples_run(page):
    result = doctest.testfile(
        str(DOC_DIR / page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )

    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} examples in doc/{page} failed"
