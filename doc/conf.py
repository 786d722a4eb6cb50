"""Sphinx configuration of the sklearn-deeplinear documentation.

Build with ``python -m sphinx -W --keep-going -b html doc doc/_build/html``;
add ``-D plot_gallery=0`` to skip running the examples.
"""

import re

import sklearn_deeplinear

project = "sklearn-deeplinear"
author = "The sklearn-deeplinear developers"
copyright = "The sklearn-deeplinear developers"
release = sklearn_deeplinear.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # Copies MathJax 3 into _static and points mathjax_path at it: Sphinx's
    # default mathjax_path is a CDN address, and the pages must render offline.
    "sphinx-mathjax-offline",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb"]
root_doc = "index"

# -- autodoc, autosummary and numpydoc ----------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
# The class template lists the methods itself; numpydoc's own member tables
# would repeat them and point autosummary at pages that are never generated.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Types stay plain text, as in scikit-learn's reference: linking "int" or
# "array-like" would need intersphinx, so network access at build time.
numpydoc_xref_param_type = False

# -- sphinx-gallery -----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sklearn_deeplinear",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_deeplinear": None},
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    # Let an example's failure fail the build instead of leaving a stub page.
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "min_reported_time": 1,
    # The timing pages load DataTables from a CDN, which offline readers lack.
    "write_computation_times": False,
}

# -- HTML output --------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-deeplinear {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
# Pages without subpages would show an empty "Section Navigation" column, and
# the gallery examples need the width for their code, output tables and figures.
html_sidebars = {
    page: []
    for page in ("install", "quick_start", "user_guide", "changelog", "auto_examples/*")
}


def _allow_missing_gallery_images(app, config):
    """Accept missing gallery figures when the examples are not executed.

    ``-D plot_gallery=0`` builds the gallery pages without running the
    examples, so the figures that the user guide embeds from
    ``auto_examples/images`` do not exist in that build.
    """
    if str(config.plot_gallery).lower() in {"0", "false"}:
        config.suppress_warnings = [*config.suppress_warnings, "image.not_readable"]


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's ``set_{method}_request`` methods.

    scikit-learn generates them for metadata routing, and their docstrings
    refer to its glossary, which this build cannot resolve.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


# The type of a "name : type" line in a Parameters, Returns or Attributes
# section, and a word in it that ends with an underscore, such as the fitted
# attribute in "ndarray of shape (n_features_in_,)".
_TYPE_LINE = re.compile(r"^(\s*\*{0,2}\w+ : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=[\s,)\]}]|$)")


def _escape_attributes_in_types(app, what, name, obj, options, lines):
    """Escape the trailing underscore of fitted attributes named in types.

    reST reads ``n_features_in_`` as a reference to a link target of that
    name, which does not exist, so "(n_features_in_,)" would fail the build.
    """
    for index, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, type_text = match.groups()
            lines[index] = head + _TRAILING_UNDERSCORE.sub(r"\1\\_", type_text)


def setup(app):
    app.connect("config-inited", _allow_missing_gallery_images)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    # Before numpydoc (priority 500), which turns the sections into reST.
    app.connect("autodoc-process-docstring", _escape_attributes_in_types, priority=400)
