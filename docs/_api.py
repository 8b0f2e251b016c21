"""The API reference's one table: which family page documents each public name.

`conf.py` calls `write_pages` at the start of every build; it writes one page per
family into `docs/api/` (generated, not committed). `tests/test_docs.py` checks
that every public name of every namespace lands on exactly one page.

A public name is a non-underscore attribute of a namespace below that is not a
module. One object reachable under several names (`gdx.muon` and
`gdx.contrib.muon`; `gdx.tree.norm` and `gdx.tree_utils.tree_norm`) is documented
once, under its canonical name (the top-level one where there is one), and its
other names are listed on the same page as aliases.
"""

import importlib
import inspect
import types
from pathlib import Path
from typing import NamedTuple

NAMESPACES = (
    "gdx",
    "gdx.transforms",
    "gdx.schedules",
    "gdx.contrib",
    "gdx.tree",
    "gdx.tree_utils",
    "gdx.microbatching",
    "gdx.checkpoint",
    "gdx.diagnostics",
    "gdx.distributed",
    "gdx.precision",
    "gdx.flat",
)

# Names a namespace shows that are not its API (none today: gdx.flat's `__dir__` lists its own).
NOT_API: dict[str, set[str]] = {}


class Family(NamedTuple):
    slug: str
    title: str
    intro: str
    # A name belongs here when its object is defined in one of these modules (prefix match)...
    modules: tuple[str, ...] = ()
    # ...or when its canonical name is in one of these namespaces (for type aliases and constants).
    namespaces: tuple[str, ...] = ()


# Order matters: a name goes to the first family that claims it ("contrib" claims every
# object reachable as gdx.contrib.X before "optimizers"/"transforms" see it).
FAMILIES = (
    Family(
        "contrib",
        "Contrib",
        "The names optax keeps in ``optax.contrib``. In gdx they are first-class (``gdx.muon``) "
        "and also reachable as ``gdx.contrib.X``.",
        namespaces=("gdx.contrib",),
    ),
    Family(
        "core",
        "Core",
        "The protocol (``GradientTransformation``, ``init``/``update``), ``chain`` and the types.",
        modules=(
            "gdx.core",
            "gdx._common.moments",
            "gdx._common.norms",
            "gdx.interop",
            "gdx.numerics",
        ),
        namespaces=("gdx",),
    ),
    Family(
        "optimizers",
        "Optimizers",
        "The named optimizers: each is a ``chain`` of the transforms on the next page.",
        modules=("gdx.optimizers",),
    ),
    Family(
        "transforms",
        "Transforms",
        "The building blocks: ``scale_by_*``, ``add_*``, ``clip_*`` and their states.",
        modules=("gdx.transforms",),
    ),
    Family(
        "wrappers",
        "Wrappers",
        "Transformations of transformations: masking, partitioning, accumulation, injection.",
        modules=("gdx.wrappers",),
    ),
    Family(
        "schedules",
        "Schedules",
        "Step to learning-rate functions (``gdx.schedules``).",
        modules=("gdx.schedules",),
        namespaces=("gdx.schedules",),
    ),
    Family(
        "fused",
        "Fused and flat execution",
        "Packed execution of a whole chain (``gdx.fuse``) and flat-params mode (``gdx.flat``).",
        modules=("gdx.fused", "gdx.flat"),
        namespaces=("gdx.flat",),
    ),
    Family(
        "distributed",
        "Distributed",
        "Data-parallel helpers and optimizer-state sharding (``gdx.distributed``).",
        modules=("gdx.distributed",),
        namespaces=("gdx.distributed",),
    ),
    Family(
        "precision",
        "Precision and memory",
        "Mixed precision, loss scaling, low-bit optimizer state (``gdx.precision``), memory reports.",
        modules=("gdx.precision", "gdx.memory"),
        namespaces=("gdx.precision",),
    ),
    Family(
        "diagnostics",
        "Diagnostics",
        "Per-step metrics, the training doctor, the LR finder, gradient checks.",
        modules=("gdx.diagnostics", "gdx.monitoring"),
        namespaces=("gdx.diagnostics",),
    ),
    Family(
        "checkpoint",
        "Checkpoint",
        "Saving and restoring optimizer state (``gdx.checkpoint``).",
        modules=("gdx.checkpoint",),
        namespaces=("gdx.checkpoint",),
    ),
    Family(
        "tree",
        "Tree utilities",
        "Pytree arithmetic and state access: ``gdx.tree`` and ``gdx.tree_utils`` (optax's names).",
        modules=(
            "gdx.tree",
            "gdx.tree_utils",
            "gdx.tree_math",
            "gdx._tree_like",
            "gdx._common.tree_math",
            "gdx._common.dtypes",
            "gdx._state_utils",
        ),
        namespaces=("gdx.tree", "gdx.tree_utils"),
    ),
    Family(
        "microbatching",
        "Microbatching and linear algebra",
        "Microbatched gradients, distributions and the linear algebra the optimizers use.",
        modules=("gdx.microbatching", "gdx.distributions", "gdx.linear_algebra"),
        namespaces=("gdx.microbatching",),
    ),
)


class Entry(NamedTuple):
    name: str  # canonical qualified name, e.g. "gdx.adam"
    kind: str  # autodoc directive: "function", "class" or "data"
    aliases: tuple[str, ...]  # the object's other qualified names


def public_names() -> list[str]:
    """Every public qualified name (`gdx.adam`, `gdx.contrib.muon`, ...), modules excluded."""
    names = []
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for name in dir(module):
            if name.startswith("_") or name in NOT_API.get(namespace, ()):
                continue
            if not isinstance(getattr(module, name), types.ModuleType):
                names.append(f"{namespace}.{name}")
    return names


def _resolve(qualified: str) -> object:
    import gdx

    value: object = gdx
    for part in qualified.split(".")[1:]:
        value = getattr(value, part)
    return value


def _is_gdx_object(value: object) -> bool:
    return (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__.startswith("gdx")


def _canonical(names: list[str]) -> str:
    # The top-level name first, then the shortest, then alphabetical: gdx.X, gdx.tree.X, ...
    return min(names, key=lambda n: (n.count("."), len(n), n))


def entries() -> dict[str, list[Entry]]:
    """Family slug -> its entries, each public name exactly once (canonical or alias)."""
    groups: dict[object, list[str]] = {}
    for qualified in public_names():
        value = _resolve(qualified)
        # Functions and classes are grouped by identity; a type alias or constant stays per name
        # (OptState, Params and Updates are all typing.Any).
        key = id(value) if _is_gdx_object(value) else qualified
        groups.setdefault(key, []).append(qualified)
    pages: dict[str, list[Entry]] = {family.slug: [] for family in FAMILIES}
    for names in groups.values():
        canonical = _canonical(names)
        value = _resolve(canonical)
        family = _family_of(names, canonical, value)
        kind = "class" if inspect.isclass(value) and _is_gdx_object(value) else "function"
        if not _is_gdx_object(value):
            kind = "data"
        aliases = tuple(sorted(n for n in names if n != canonical))
        pages[family].append(Entry(canonical, kind, aliases))
    for listed in pages.values():
        listed.sort(key=lambda e: e.name.lower())
    return pages


def _family_of(names: list[str], canonical: str, value: object) -> str:
    namespaces = {n.rsplit(".", 1)[0] for n in names}
    module = value.__module__ if _is_gdx_object(value) else None  # type: ignore[attr-defined]
    for family in FAMILIES:
        if family.slug == "contrib":
            if "gdx.contrib" in namespaces:
                return family.slug
            continue
        if module is not None and any(module == m or module.startswith(m + ".") for m in family.modules):
            return family.slug
        if module is None and canonical.rsplit(".", 1)[0] in family.namespaces:
            return family.slug
    raise LookupError(f"no family in docs/_api.py claims {canonical} (defined in {module})")


def render(family: Family, listed: list[Entry]) -> str:
    """The reStructuredText of one family page: a summary table, then each entry's docstring."""
    lines = [family.title, "=" * len(family.title), "", family.intro, ""]
    # autosummary would summarize a type alias or constant with its value's type's docstring.
    lines += [".. autosummary::", "   :nosignatures:", ""]
    lines += [f"   {entry.name}" for entry in listed if entry.kind != "data"]
    lines.append("")
    data = [entry.name for entry in listed if entry.kind == "data"]
    if data:
        lines += ["Types and constants: " + ", ".join(f":data:`{name}`" for name in data) + ".", ""]
    for entry in listed:
        lines.append(f".. auto{entry.kind}:: {entry.name}")
        if entry.kind == "class" and not issubclass(_resolve(entry.name), tuple):  # type: ignore[arg-type]
            # A NamedTuple's fields are in its signature and its docstring's Attributes section.
            lines.append("   :members:")
        if entry.kind == "data":
            lines[-1] = f".. data:: {entry.name}"  # autodata would show the value's type's docstring
            lines += ["", *(f"   {line}" if line else "" for line in _data_doc(entry.name))]
        lines.append("")
        if entry.aliases:
            lines.append("   Also reachable as " + ", ".join(f"``{a}``" for a in entry.aliases) + ".")
            lines.append("")
    return "\n".join(lines)


def _data_doc(qualified: str) -> list[str]:
    """The attribute docstring (the string after `Name = ...`) where the value is defined.

    A type alias or constant carries no `__doc__` of its own, and the namespace that re-exports
    it is not where the docstring is written, so read the source of every gdx module that binds
    the same object under the same name.
    """
    import sys

    from sphinx.pycode import ModuleAnalyzer

    short, value = qualified.rsplit(".", 1)[1], _resolve(qualified)
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("gdx") or getattr(module, short, None) is not value:
            continue
        docs = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", short))
        if docs:
            return [line.rstrip() for line in docs]
    raise LookupError(f"{qualified} has no docstring: add one under its assignment")


def write_pages(directory: Path) -> None:
    """Write `api/<slug>.rst` for every family and `api/index.rst`, only where the text changed."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = entries()
    texts = {f"{f.slug}.rst": render(f, pages[f.slug]) for f in FAMILIES}
    toc = ["API reference", "=============", "", ".. toctree::", "   :maxdepth: 1", ""]
    toc += [f"   {f.slug}" for f in FAMILIES]
    texts["index.rst"] = "\n".join(toc) + "\n"
    for filename, text in texts.items():
        path = directory / filename
        if not path.exists() or path.read_text() != text:  # unchanged pages are not rebuilt
            path.write_text(text)
