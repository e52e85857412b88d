"""The import layering of docs/architecture.md: no module imports one above it, no command
imports another command, and every source file has a place on the map."""

from __future__ import annotations

import ast
from pathlib import Path

import ekstrio

SRC = Path(ekstrio.__file__).parent

# Lowest first. A module may import its own layer and those below, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("ekstrio", "errors", "model", "fileio", "slots", "logs", "cache_home",
                    "json_pieces", "gc_tuning")),
    ("protocols and the sim", ("aws.*", "sim.*")),
    ("configuration", ("aws_config", "settings", "user_config", "filters", "exec_cache")),
    ("values", ("scan_records", "scan_failures", "scan_document", "scan_diff", "scan_api",
                "kubeconfig", "access", "access_live", "access_record", "kube_contexts",
                "exec_plugin", "scan_entries", "kube_targets", "entry_names")),
    ("stores", ("inventory", "kubeconfig_io", "kubeconfig_dir", "profiles")),
    ("engine and sign-in", ("scan", "scan_region", "account_credentials", "scan_aws", "auth.*",
                            "access_aws", "kube_live", "access_scan", "token_credentials")),
    ("runtime", ("scan_runtime",)),
    ("renderers", ("output", "table", "progress", "progress_columns", "document_formats")),
    # access_contexts runs `ekstrio token` in process (token_fast), so it sits beside it.
    ("commands", ("commands.*", "app", "session_flags", "token_fast", "access_contexts")),
    ("entry points", ("cli", "__main__")),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "ekstrio"


def layer_of(module: str) -> int:
    """The layer of ``module`` (relative to ekstrio); a package's modules share its layer."""
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if module == member or (member.endswith(".*") and (
                    module == member[:-2] or module.startswith(member[:-1]))):
                return index
    raise AssertionError(f"{module} is on no layer of the map: add it to LAYERS and to "
                         "docs/architecture.md")


def is_module(name: str) -> bool:
    """Whether ``name`` (dotted, from ekstrio) is a module or package of the source tree."""
    parts = name.split(".")[1:]
    return not parts or SRC.joinpath(*parts).with_suffix(".py").exists() or \
        SRC.joinpath(*parts).is_dir()


def ekstrio_imports(path: Path, module: str) -> set[str]:
    """Every ekstrio module ``path`` imports (lazy and TYPE_CHECKING imports included)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import"  # house style: absolute
            target = node.module or ""
            # `from ekstrio.auth import provider` imports the module ekstrio.auth.provider.
            names.extend([target, *(f"{target}.{alias.name}" for alias in node.names)])
    found = {name.removeprefix("ekstrio.") if name != "ekstrio" else name for name in names
             if (name == "ekstrio" or name.startswith("ekstrio.")) and is_module(name)}
    found.discard(module)
    return found


def sources() -> list[tuple[str, Path]]:
    return sorted((module_name(path), path) for path in SRC.rglob("*.py"))


def test_every_source_file_is_on_the_map() -> None:
    for module, _ in sources():
        layer_of(module)


def test_no_module_imports_one_above_it() -> None:
    upward = []
    for module, path in sources():
        mine = layer_of(module)
        for imported in sorted(ekstrio_imports(path, module)):
            theirs = layer_of(imported)
            if theirs > mine:
                upward.append(f"{module} ({LAYERS[mine][0]}) imports {imported} "
                              f"({LAYERS[theirs][0]})")
    assert upward == []


def test_no_command_imports_another_command() -> None:
    crossing = []
    for module, path in sources():
        if not module.startswith("commands."):
            continue
        crossing.extend(f"{module} imports {imported}"
                        for imported in sorted(ekstrio_imports(path, module))
                        if imported.startswith("commands.") and imported != module)
    assert crossing == []


def test_the_check_sees_lazy_imports() -> None:
    # commands import most things inside their functions: the walk must see those.
    path = SRC / "commands" / "scan.py"
    assert "scan_runtime" in ekstrio_imports(path, "commands.scan")
