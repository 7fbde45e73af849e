"""Open every page of a built book in headless Chromium and check it works offline.

The HTML folder is served by a ``http.server`` thread on 127.0.0.1 (not ``file://``).
Debian's ``/usr/bin/chromium`` is driven by Playwright's Python API (no browser
download). For each page the check records

* every request that would leave localhost (blocked, and a failure),
* local requests that fail (HTTP >= 400 or a network error),
* console errors and uncaught exceptions (minus a short list of known-harmless ones),
* charts: every ``.advgeom-chart`` / ``.vega-embed`` element must hold an ``svg`` or ``canvas``,
* equations: every Sphinx ``.math`` element must hold an ``mjx-container``, and no raw
  TeX delimiters (``$$``, ``\\[``, ``\\(``, ``\\begin{``) may remain in the visible text,
* audio: every ``<audio>`` player must decode its sound (a finite, positive duration) and play:
  started muted, its clock must move,
* code cells tagged ``hide-input`` must be collapsed, and their "show code" toggle (myst-nb's
  ``<details>``, or a sphinx-togglebutton button) must show the code when clicked,
* code: no code block (``div.cell_input pre``, ``div.highlight pre``: cell sources, stream outputs,
  code in the prose) may be wider than its box (``scrollWidth > clientWidth + 1``); the report names
  its first line that overflows. The chapters' line length (``notebooks/ruff.toml``) is chosen so their
  code fits at the default viewport,
* bound inputs: in every chart with inputs (``.vega-bindings input, select``), changing each input
  (another option, another value of a slider, with ``input`` and ``change`` events) must change the
  chart's SVG,

and saves a full-page screenshot.

Nothing is counted before the page has settled: redirects (jupyter-book's ``index.html`` is a
meta-refresh stub) are followed until the URL stays put and the network is idle, then the check
waits for MathJax's startup promise (startup plus first typeset) and for every chart to be drawn,
each up to ``timeout_s`` (60 s by default, generous for a loaded machine). A page that is still
broken when a wait runs out is reported, never skipped.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # the audio check starts players from script
)
# console errors that do not indicate a broken page
HARMLESS_CONSOLE: tuple[str, ...] = (
    r"favicon\.ico",  # Chromium asks for /favicon.ico; the book has none
    r"Got invalid theme mode",  # pydata-sphinx-theme on a fresh profile (no stored light/dark mode)
)
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_LOCAL_SCHEMES = {"data", "blob", "about", "file", "chrome-extension", "devtools"}


@dataclass
class PageReport:
    """What one page did in the browser."""

    page: str
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    charts: int = 0
    charts_drawn: int = 0
    math: int = 0
    math_rendered: int = 0
    raw_tex: list[str] = field(default_factory=list)
    audio: int = 0
    audio_played: int = 0
    hidden_inputs: int = 0
    hidden_problems: list[str] = field(default_factory=list)
    code_blocks: int = 0
    wide_code: list[str] = field(default_factory=list)
    bound_inputs: int = 0
    dead_inputs: list[str] = field(default_factory=list)
    screenshot: str | None = None

    def problems(self) -> list[str]:
        """Human-readable failures of this page (empty when it is fine)."""
        out = [f"{self.page}: external request {u}" for u in self.external_requests]
        out += [f"{self.page}: failed request {u}" for u in self.failed_requests]
        out += [f"{self.page}: console error {m}" for m in self.console_errors]
        if self.charts_drawn < self.charts:
            out.append(f"{self.page}: {self.charts - self.charts_drawn} of {self.charts} chart(s) not drawn")
        if self.math_rendered < self.math:
            out.append(f"{self.page}: {self.math - self.math_rendered} of {self.math} equation(s) not rendered")
        out += [f"{self.page}: raw TeX in the page: {s!r}" for s in self.raw_tex]
        if self.audio_played < self.audio:
            out.append(f"{self.page}: {self.audio - self.audio_played} of {self.audio} audio player(s) do not play")
        out += [f"{self.page}: hidden code cell {m}" for m in self.hidden_problems]
        out += [f"{self.page}: code wider than its box: {line!r}" for line in self.wide_code]
        out += [f"{self.page}: bound input {name!r} does not change its chart" for name in self.dead_inputs]
        return out


@dataclass
class BookReport:
    """The result of :func:`check_book`."""

    html_dir: str
    pages: list[PageReport]

    @property
    def ok(self) -> bool:
        return bool(self.pages) and not self.problems()

    def problems(self) -> list[str]:
        return [p for page in self.pages for p in page.problems()]

    def page(self, name: str) -> PageReport:
        """The report of the page whose path ends with ``name`` (e.g. ``book/intro.html``)."""
        for page in self.pages:
            if page.page == name or page.page.endswith("/" + name):
                return page
        raise KeyError(f"no page {name!r}; checked: {[p.page for p in self.pages]}")

    def summary(self) -> str:
        charts = sum(p.charts for p in self.pages)
        drawn = sum(p.charts_drawn for p in self.pages)
        math = sum(p.math for p in self.pages)
        rendered = sum(p.math_rendered for p in self.pages)
        audio = sum(p.audio for p in self.pages)
        played = sum(p.audio_played for p in self.pages)
        hidden = sum(p.hidden_inputs for p in self.pages)
        bound = sum(p.bound_inputs for p in self.pages)
        lines = [
            f"{len(self.pages)} page(s); charts drawn {drawn}/{charts}; equations rendered {rendered}/{math}; "
            f"audio played {played}/{audio}; "
            f"hidden code cells working {hidden - sum(len(p.hidden_problems) for p in self.pages)}/{hidden}; "
            f"code blocks too wide {sum(len(p.wide_code) for p in self.pages)}"
            f"/{sum(p.code_blocks for p in self.pages)}; "
            f"bound inputs that change their chart {bound - sum(len(p.dead_inputs) for p in self.pages)}/{bound}; "
            f"external requests {sum(len(p.external_requests) for p in self.pages)}; "
            f"console errors {sum(len(p.console_errors) for p in self.pages)}; "
            f"failed requests {sum(len(p.failed_requests) for p in self.pages)}"
        ]
        lines += [f"  {problem}" for problem in self.problems()]
        return "\n".join(lines)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextmanager
def serve(directory: str | os.PathLike[str]) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="advgeom-book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def book_pages(html_dir: str | os.PathLike[str]) -> list[str]:
    """All HTML pages of a built book, relative paths, skipping ``_static``/``_sources``-style folders."""
    root = Path(html_dir)
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(root).parts[:-1])
    )


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in _LOCAL_SCHEMES or (parts.hostname or "") in _LOCAL_HOSTS


_PAGE_STATE_JS = r"""
() => {
  const charts = [...new Set([...document.querySelectorAll('.advgeom-chart, .vega-embed')])];
  const drawn = charts.filter(e => e.querySelector('svg, canvas')).length;
  const math = [...document.querySelectorAll('.math')];
  const rendered = math.filter(e => e.querySelector('mjx-container') || e.tagName === 'MJX-CONTAINER').length;
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea, mjx-assistive-mml, .highlight').forEach(e => e.remove());
  const text = clone.textContent;
  const raw = [];
  for (const token of ['$$', '\\[', '\\(', '\\begin{']) {
    let i = text.indexOf(token);
    if (i >= 0) raw.push(text.slice(Math.max(0, i - 30), i + 40).replace(/\s+/g, ' '));
  }
  return {charts: charts.length, drawn: drawn, math: math.length, rendered: rendered, raw: raw};
}
"""

_WAIT_CHARTS_JS = r"""
() => [...document.querySelectorAll('.advgeom-chart, .vega-embed')].every(
  e => e.querySelector('svg, canvas') || e.textContent.trim().startsWith('['))
"""

# a page with math is typeset once MathJax 3's startup promise (startup + first typeset) resolves
_MATHJAX_STARTED_JS = r"""
() => !document.querySelector('.math') || !!(window.MathJax && MathJax.startup && MathJax.startup.promise)
"""

_MATHJAX_TYPESET_JS = r"""
async (ms) => {
  if (!document.querySelector('.math')) return 'no math';
  const late = new Promise(resolve => setTimeout(() => resolve('timeout'), ms));
  const done = MathJax.startup.promise.then(() => 'typeset', err => 'failed: ' + err);
  return await Promise.race([done, late]);
}
"""

# every <audio> player: decode (a finite duration > 0), then play muted until its clock moves
_AUDIO_JS = r"""
async (ms) => {
  const players = [...document.querySelectorAll('audio')];
  const plays = async (a) => {
    try {
      a.muted = true;
      if (a.readyState < 1) {
        await new Promise((resolve, reject) => {
          a.addEventListener('loadedmetadata', resolve, {once: true});
          a.addEventListener('error', reject, {once: true});
          a.load();
        });
      }
      if (!(isFinite(a.duration) && a.duration > 0)) return false;
      await a.play();
      const start = Date.now();
      while (a.currentTime === 0 && Date.now() - start < ms) await new Promise(r => setTimeout(r, 50));
      const moved = a.currentTime > 0;
      a.pause();
      a.currentTime = 0;
      return moved;
    } catch (err) {
      return false;
    }
  };
  const late = new Promise(resolve => setTimeout(() => resolve(null), ms + 1000));
  const results = await Promise.race([Promise.all(players.map(plays)), late]);
  return {audio: players.length, played: results ? results.filter(Boolean).length : 0};
}
"""

# cells tagged hide-input: collapsed, with a toggle that shows the code (myst-nb: <details><summary>)
_HIDDEN_INPUTS_JS = r"""
async (ms) => {
  // Chromium lays out a closed <details>' content (content-visibility: hidden): ask checkVisibility
  const shown = e => !!e && e.getBoundingClientRect().height > 0
    && (!e.checkVisibility || e.checkVisibility({visibilityProperty: true, opacityProperty: true}));
  const out = [];
  for (const cell of document.querySelectorAll('.cell.tag_hide-input')) {
    const input = cell.querySelector('.cell_input');
    const toggle = cell.querySelector('details > summary, button.toggle-button');
    const first = input ? input.textContent.trim().split('\n')[0].slice(0, 60) : '';
    if (!input) { out.push(`without a source: ${first}`); continue; }
    if (shown(input)) { out.push(`not collapsed: ${first}`); continue; }
    if (!toggle) { out.push(`has no "show code" toggle: ${first}`); continue; }
    toggle.click();
    const start = Date.now();
    while (!shown(input) && Date.now() - start < ms) await new Promise(r => setTimeout(r, 50));
    if (!shown(input)) out.push(`not shown by its toggle: ${first}`);
  }
  return {cells: document.querySelectorAll('.cell.tag_hide-input').length, problems: out};
}
"""

# code blocks wider than their box, each named by its first line wider than the box's content width
_WIDE_CODE_JS = r"""
() => {
  const blocks = [...new Set(document.querySelectorAll('div.cell_input pre, div.highlight pre'))];
  const firstWide = (pre) => {
    const style = getComputedStyle(pre);
    const room = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const lines = pre.textContent.split('\n');
    const probe = document.createElement('span');
    probe.style.whiteSpace = 'pre';
    pre.appendChild(probe);
    let found = null, longest = '';
    for (const line of lines) {
      probe.textContent = line;
      if (found === null && probe.getBoundingClientRect().width > room + 1) found = line;
      if (line.length > longest.length) longest = line;
    }
    probe.remove();
    return (found !== null ? found : longest).slice(0, 160);
  };
  const wide = blocks.filter(pre => pre.scrollWidth > pre.clientWidth + 1).map(firstWide);
  return {blocks: blocks.length, wide: wide};
}
"""

# every input of every chart with bound inputs: change it, wait for the chart's SVG to change, put it back
_BOUND_INPUTS_JS = r"""
async (ms) => {
  const sleep = t => new Promise(r => setTimeout(r, t));
  // the chart's own SVG (vega-embed's actions menu holds an icon SVG too)
  const svg = e => (e.querySelector('svg.marks') || e.querySelector('svg') || {outerHTML: ''}).outerHTML;
  const nameOf = i => {
    const label = i.closest('label, .vega-bind');
    const name = label && label.querySelector('.vega-bind-name');
    return (name ? name.textContent : i.name || i.type).trim();
  };
  const fire = i => ['input', 'change'].forEach(t => i.dispatchEvent(new Event(t, {bubbles: true})));
  // a function that puts the input (for a radio button: its group) back as it is now
  const keep = (i, chart) => {
    if (i.type === 'radio') {
      const on = [...chart.querySelectorAll('input[type=radio]')].find(r => r.name === i.name && r.checked);
      return () => { if (on) { on.checked = true; fire(on); } };
    }
    const [value, index, checked] = [i.value, i.selectedIndex, i.checked];
    return () => {
      if (i.tagName === 'SELECT') i.selectedIndex = index; else { i.value = value; i.checked = checked; }
      fire(i);
    };
  };
  const change = (i) => {
    if (i.tagName === 'SELECT') {
      if (i.options.length < 2) return false;
      i.selectedIndex = (i.selectedIndex + 1) % i.options.length;
    } else if (i.type === 'range') {
      const lo = parseFloat(i.min || '0'), hi = parseFloat(i.max || '100');
      i.value = String(parseFloat(i.value) === hi ? lo : hi);
    } else if (i.type === 'checkbox') {
      i.checked = !i.checked;
    } else if (i.type === 'radio') {
      if (i.checked) return false;
      i.checked = true;
    } else {
      return false;
    }
    fire(i);
    return true;
  };
  const until = async (test) => {
    const start = Date.now();
    while (!test() && Date.now() - start < ms) await sleep(50);
    return test();
  };
  const tried = [], dead = [], radios = new Set();
  for (const chart of document.querySelectorAll('.vega-embed')) {
    for (const input of chart.querySelectorAll('.vega-bindings input, .vega-bindings select')) {
      if (input.type === 'radio' && (radios.has(input.name) || input.checked)) continue;
      const before = svg(chart), restore = keep(input, chart);
      if (!change(input)) continue;
      if (input.type === 'radio') radios.add(input.name);
      tried.push(nameOf(input));
      if (!(await until(() => svg(chart) !== before))) dead.push(nameOf(input));
      restore();
      await until(() => svg(chart) === before);  // each input is tried from the chart as it was drawn
    }
  }
  return {inputs: tried.length, dead: dead};
}
"""

# the target of a <meta http-equiv="refresh"> redirect (jupyter-book's index.html), or null
_META_REFRESH_JS = r"""
() => {
  const meta = document.querySelector('meta[http-equiv="refresh" i]');
  return meta && /url\s*=/i.test(meta.content) ? meta.content : null;
}
"""
_MAX_REDIRECTS = 5


def _watch(page, report: PageReport) -> None:
    """Block and record requests leaving localhost; record failed requests and console errors."""
    blocked: set[str] = set()

    def route(r, _request=None) -> None:
        url = r.request.url
        if _is_local(url):
            r.continue_()
        else:
            report.external_requests.append(url)
            blocked.add(url)
            r.abort()

    def console(message) -> None:
        if message.type == "error":
            report.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def response(resp) -> None:
        if resp.status >= 400:
            report.failed_requests.append(f"{resp.status} {resp.url}")

    def failed(req) -> None:
        if req.url not in blocked:
            report.failed_requests.append(f"{req.failure} {req.url}")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda err: report.console_errors.append(f"uncaught: {err}"))
    page.on("response", response)
    page.on("requestfailed", failed)


def _evaluate_settled(page, script: str, timeout_ms: float, arg: object = None):
    """Evaluate ``script``; if the page navigates meanwhile (a redirect), wait for the new page and retry."""
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(_MAX_REDIRECTS):
        try:
            return page.evaluate(script, arg)
        except PlaywrightError as err:
            if not any(m in str(err) for m in ("Execution context was destroyed", "Cannot find context")):
                raise
            page.wait_for_load_state("load", timeout=timeout_ms)
    return page.evaluate(script, arg)


def _wait_idle(page, timeout_ms: float) -> None:
    """Wait for the 'networkidle' load state; a page that never goes idle is checked as it stands."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except PlaywrightTimeout:
        pass


def _open_settled(page, url: str, timeout_ms: float) -> None:
    """Go to ``url`` and follow redirects (meta refresh included) until the page stays put and the
    network is idle, so that the checks run on the final page and not on a redirect stub."""
    page.goto(url, wait_until="load", timeout=timeout_ms)
    seen = url
    for _ in range(_MAX_REDIRECTS):
        _wait_idle(page, timeout_ms)
        if page.url != seen:  # navigated while we waited: settle the new page too
            seen = page.url
            continue
        if _evaluate_settled(page, _META_REFRESH_JS, timeout_ms) is None:
            if page.url == seen:
                return
            seen = page.url  # the evaluation itself met a navigation
            continue
        page.wait_for_url(lambda u, seen=seen: u != seen, wait_until="load", timeout=timeout_ms)
        seen = page.url
    _wait_idle(page, timeout_ms)


def _wait_rendered(page, report: PageReport, timeout_ms: float) -> None:
    """Wait until MathJax has typeset the page and every chart holds an svg/canvas (or time out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_MATHJAX_STARTED_JS, timeout=timeout_ms)
    except PlaywrightTimeout:
        report.console_errors.append("MathJax did not start on a page with math")
    else:
        state = _evaluate_settled(page, _MATHJAX_TYPESET_JS, timeout_ms, arg=timeout_ms)
        if state == "timeout":
            report.console_errors.append(f"MathJax did not finish typesetting in {timeout_ms / 1000:.0f} s")
        elif state not in ("typeset", "no math"):
            report.console_errors.append(f"MathJax {state}")
    try:
        page.wait_for_function(_WAIT_CHARTS_JS, timeout=timeout_ms)
    except PlaywrightTimeout:
        pass  # counted as not drawn


def _check_interactions(page, report: PageReport, timeout_ms: float) -> None:
    """Open the hidden code cells (then check that no code is too wide, theirs included) and try every
    bound input of the charts; each wait is at most a few seconds."""
    wait_ms = min(timeout_ms, 3000)
    hidden = _evaluate_settled(page, _HIDDEN_INPUTS_JS, timeout_ms, arg=wait_ms)
    report.hidden_inputs, report.hidden_problems = hidden["cells"], list(hidden["problems"])
    code = _evaluate_settled(page, _WIDE_CODE_JS, timeout_ms)
    report.code_blocks, report.wide_code = code["blocks"], list(code["wide"])
    bound = _evaluate_settled(page, _BOUND_INPUTS_JS, timeout_ms, arg=wait_ms)
    report.bound_inputs, report.dead_inputs = bound["inputs"], list(bound["dead"])


def check_book(
    html_dir: str | os.PathLike[str],
    screenshot_dir: str | os.PathLike[str] | None = None,
    *,
    pages: Sequence[str] | None = None,
    chromium: str = CHROMIUM,
    harmless: Iterable[str] = HARMLESS_CONSOLE,
    timeout_s: float = 60.0,
    viewport: tuple[int, int] = (1280, 900),
) -> BookReport:
    """Open every page of the built book ``html_dir`` in headless Chromium and report (see module doc).

    ``pages`` restricts the check to these relative paths; screenshots go to
    ``screenshot_dir`` (``<page path with / -> __>.png``) when given.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"{html_dir} holds no built book (no index.html); build it first")
    if not Path(chromium).exists():
        raise FileNotFoundError(f"{chromium} not found; install Debian's chromium package (apt-get install chromium)")
    shots = Path(screenshot_dir) if screenshot_dir is not None else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    harmless_re = [re.compile(h) for h in harmless]
    names = list(pages) if pages is not None else book_pages(html_dir)
    reports: list[PageReport] = []
    with serve(html_dir) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            for name in names:
                report = PageReport(page=name)
                page = context.new_page()
                _watch(page, report)
                try:
                    _open_settled(page, base + name, timeout_s * 1000)
                    _wait_rendered(page, report, timeout_s * 1000)
                    page.wait_for_timeout(200)
                    found = _evaluate_settled(page, _PAGE_STATE_JS, timeout_s * 1000)
                    report.charts, report.charts_drawn = found["charts"], found["drawn"]
                    report.math, report.math_rendered = found["math"], found["rendered"]
                    report.raw_tex = list(found["raw"])
                    sound = _evaluate_settled(page, _AUDIO_JS, timeout_s * 1000, arg=min(timeout_s, 10) * 1000)
                    report.audio, report.audio_played = sound["audio"], sound["played"]
                    if shots is not None:  # the page as a reader first sees it
                        path = shots / (name.replace("/", "__").removesuffix(".html") + ".png")
                        page.screenshot(path=str(path), full_page=True)
                        report.screenshot = str(path)
                    _check_interactions(page, report, timeout_s * 1000)
                except (PlaywrightError, PlaywrightTimeout) as err:
                    report.console_errors.append(f"page could not be checked: {str(err).splitlines()[0]}")
                finally:
                    page.close()
                report.console_errors = [
                    m for m in report.console_errors if not any(h.search(m) for h in harmless_re)
                ]
                report.failed_requests = [
                    m for m in report.failed_requests if not any(h.search(m) for h in harmless_re)
                ]
                reports.append(report)
        finally:
            browser.close()
    return BookReport(html_dir=str(html_dir), pages=reports)
