"""The trading engine's hot modules compiled with mypyc: the same source, as C extensions.

A trade backtest spends its time in the engine's per-bar and per-trade Python, the code live
trading runs too (docs/trading-backtest.md, "Speed: the engine compiled"). mypyc compiles that code as it is
written, its type annotations made real: native classes, calls between compiled functions
without Python's frames. `ensure` (`make native`, which `make run`, `make test` and `make bench`
run first) compiles `MODULES`, unless they were compiled from these very sources, into one group
of extension modules beside their sources (`app/trading/native__mypyc...so` holds the group's
code), then records each source's SHA-256 in `MANIFEST`. Each build is also kept in the user's
cache (`~/.cache/signaldesk/native/<key>`, the key: the sources, the interpreter and mypyc), so
the same sources on the same machine (a clean clone in CI, a branch switched back) are copied,
not compiled again. Without a build the sources run as they are.

Python imports an extension module in preference to its source, so an engine edited after the
build would run the old code. `guard` (called by `app`'s `__init__`, before any of these can be
imported) compares the manifest with the sources: when one differs, or extensions
are there without a manifest (a build in progress or one that failed), every module of the group
is imported from its source instead, with one warning (the modules share one library: a compiled
module cannot be mixed with an interpreted one's classes). So the code that runs is always the
code on disk; only its speed depends on the build.

What mypyc asks of the code (checked when it compiles): values of the annotated types at run time
(a numpy bool is not a `bool`), no subclass of a builtin type in a native class (`Skip` is a
plain Python class), enums kept apart (mypyc gives every Python class it compiles, an enum
too, the docstring "mypyc filler docstring", which an enum's JSON schema shows: they live in
`app.trading.enums`, not compiled), and no interpreted subclass of a compiled class (the
backtest's outbox and price tape are compiled too). A frozen dataclass compiled is a native class that pickle cannot
rebuild (it sets the fields one by one, which a frozen class refuses), and the configurations go
to other processes (a sweep's workers, the API's): each is pickled by its fields (`reduced`).
A dataclass built per bar or per order (`Quote`, `EntryPlan`, `Order`, `OrderRequest`,
`OrderResult`, `Trade`) writes its `__init__` out: the one `dataclasses` generates is Python
source made at run time, which stays interpreted (~1 us a call, against ~0.03 compiled; a fifth
of a year's trade phase); a frozen one sets its fields with `object.__setattr__`, which mypyc
compiles to a plain store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MODULES = tuple(
    f"app/trading/{name}.py"
    for name in (
        "backtest",
        "book",
        "brokers/paper",
        "costs",
        "engine",
        "memory_journal",
        "orders",
        "outbox",
        "prices",
        "risk",
        "strategy",
        "trades",
    )
) + ("app/market/instrument_master/specs.py",)
"""What the engine runs per bar and per trade, live and in a backtest (the profile of a year's
trade backtest), with the backtest's driver, outbox and price tape (subclasses of compiled classes),
and each instrument's tick and lot (`TradingSpec`: the strategy and the paper broker round every
price and size with it)."""
GROUP = "app.trading.native"
"""The group's shared library: `app/trading/native__mypyc.<platform>.so`."""
MANIFEST = ROOT / "app" / "trading" / "native.json"
"""Each compiled source's SHA-256 when it was compiled (written last: no manifest, no build)."""


Reduced = tuple[Callable[..., object], tuple[Any, ...]]


def reduced(frozen: Any) -> Reduced:
    """`__reduce__` of a frozen dataclass: rebuilt by calling its class with its fields."""
    return _rebuilt, (type(frozen), {field.name: getattr(frozen, field.name) for field in dataclasses.fields(frozen)})


def _rebuilt(cls: Callable[..., object], fields: dict[str, Any]) -> object:
    return cls(**fields)


def _module(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _digest(path: str) -> str:
    return hashlib.sha256((ROOT / path).read_bytes()).hexdigest()


def built() -> bool:
    """Any file of the group's build is on disk."""
    return any((ROOT / name).exists() for name in _outputs())


def stale(manifest: Path = MANIFEST) -> str | None:
    """Why the extensions on disk may not be imported (a source changed since they were built,
    or there is no manifest), or None: they are current, or there are none."""
    try:
        recorded = json.loads(manifest.read_bytes())
    except FileNotFoundError:
        return "the build did not finish (no manifest)" if built() else None
    except ValueError:
        return f"{manifest.name} is unreadable"
    for path in MODULES:
        if recorded.get(path) != _digest(path):
            return f"{path} changed since it was compiled"
    return None


class _FromSource(importlib.abc.MetaPathFinder):
    """Imports the group's modules from their sources, ahead of the extensions beside them."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.sources = {_module(path): ROOT / path for path in modules}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(fullname)
        return importlib.util.spec_from_file_location(fullname, source) if source is not None else None


def guard(manifest: Path = MANIFEST) -> None:
    """Import the group from its sources unless its extensions are current (see the module
    docstring); with no manifest too, even before any extension is there: a build may copy them
    in while this process imports the group (a server started beside `make native`)."""
    if manifest.exists() and stale(manifest) is None:
        return
    if not any(isinstance(f, _FromSource) for f in sys.meta_path):
        sys.meta_path.insert(0, _FromSource(MODULES))
    if built():
        log.warning("the compiled trading engine is not used: %s; `make native` compiles it again", stale(manifest))


def ensure() -> None:
    """Make the group's extensions current: nothing when they are, else copied from the build
    cache when these very sources were compiled before on this machine, else compiled."""
    if built() and stale() is None:
        return
    digests = {path: _digest(path) for path in MODULES}  # what is compiled, read before it is
    cached = _cache_dir(digests)
    _remove_build()  # from here until the manifest is written, the sources are imported
    if cached.is_dir():
        for name in _outputs():
            shutil.copy2(cached / name, ROOT / name)
    else:
        _compile()
        _keep(cached)
    MANIFEST.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")


def _outputs() -> list[str]:
    """The files a build makes for this interpreter, relative to ROOT: each module's extension
    and the group's library."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return [path.removesuffix(".py") + suffix for path in MODULES] + [GROUP.replace(".", "/") + "__mypyc" + suffix]


def _cache_dir(digests: dict[str, str]) -> Path:
    """Where a build of these sources by this interpreter and mypyc is kept (under the user's
    cache, as pip and numba keep theirs): the key covers everything the output depends on."""
    from mypy.version import __version__ as mypyc_version

    key = json.dumps([digests, sys.version, mypyc_version, importlib.machinery.EXTENSION_SUFFIXES[0]], sort_keys=True)
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "signaldesk" / "native" / hashlib.sha256(key.encode()).hexdigest()[:32]


def _remove_build() -> None:
    MANIFEST.unlink(missing_ok=True)
    for name in _outputs():
        (ROOT / name).unlink(missing_ok=True)


def _compile() -> None:
    """mypyc, then the C compiler (~1.5 min of one core); the extensions land beside their sources."""
    import warnings

    from mypyc.build import mypycify
    from setuptools import setup

    os.chdir(ROOT)
    warnings.filterwarnings("ignore", module="setuptools")  # setup() reads pyproject.toml's tables as "beta"
    setup(
        name="signaldesk-native",
        ext_modules=mypycify(list(MODULES), group_name=GROUP),
        script_args=["--quiet", "build_ext", "--inplace", "--build-temp", "build/native"],
    )


def _keep(cached: Path) -> None:
    """Copy a build into the cache, whole or not at all (written aside, then renamed)."""
    partial = cached.with_name(cached.name + f".{os.getpid()}")
    for name in _outputs():
        (partial / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, partial / name)
    try:
        partial.rename(cached)
    except OSError:  # another build kept the same one meanwhile
        shutil.rmtree(partial, ignore_errors=True)
