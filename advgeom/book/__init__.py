"""The book machinery: run the chapters (``notebooks/NN_name.py``) with checked parameters, write the
pages generated from them, build the book with jupyter-book, draw its charts offline, vendor its
JavaScript and check the built pages in a browser.

The layers import only downwards, with no circle:

* :mod:`advgeom.book.notebooks`: paths, the parameters cell (parsing, checking, reading and writing
  values), the chapter data next to the chapters (``notebooks/presets.toml``, ``notebooks/glance.yml``),
  and the values glued into an executed notebook;
* :mod:`advgeom.book.execute`: papermill execution and the *Re-run this page* note;
* :mod:`advgeom.book.pages`: the generated pages (parameters, findings at a glance, the Explorer of the
  tables the chapters publish) and the table of contents restricted to the pages that exist;
* :mod:`advgeom.book.build`: ``jupyter-book build`` and what ``advgeom book`` does.

Beside them: :mod:`advgeom.book.charts` (the altair renderer, theme and chart helpers the chapters use:
layers by name, tables printed as typed, published tables, the Explorer's interactive charts),
:mod:`advgeom.book.assets` (offline JavaScript, and the Sphinx extension ``advgeom.book.assets``) and
:mod:`advgeom.book.browser_check` (the built book opened in headless Chromium). The science side of the
package (``advgeom.geometry``, ``advgeom.analysis``, ...) never imports this package.
"""

BOOK_ENV = "ADVGEOM_BOOK"
"""Set to ``"1"`` while :func:`advgeom.book.execute.run_notebook` executes a chapter for the book; the
charts of :mod:`advgeom.book.charts` then carry the offline ``text/html`` the built book shows."""

CHAPTER_ENV = "ADVGEOM_CHAPTER"
"""The stem of the chapter :func:`advgeom.book.execute.run_notebook` is executing (``01_vision_geometry``);
:func:`advgeom.book.charts.publish` names its downloads after it."""

TABLE_MIME = "application/vnd.advgeom.table+json"
"""The MIME type of a table a chapter publishes (:func:`advgeom.book.charts.publish`): its title, columns
and records, read back from the executed notebook for the Explorer page (:mod:`advgeom.book.pages`)."""
