"""Every namespace attribute the ports reach works after a plain `import gdx`, as after `import optax`.

The port modules import `gdx.contrib` explicitly (see `_port.py`) so that their
numerics do not depend on test order; this test checks the drop-in promise
itself, in a fresh interpreter where nothing else has imported a subpackage.
"""

import subprocess
import sys

REACHED = [
    "contrib.sam",
    "contrib.normalize",
    "contrib.reduce_on_plateau",
    "tree_utils.tree_get",
    "tree_utils.tree_norm",
]


def missing_after_plain_import(module: str) -> list[str]:
    code = (
        f"import {module}, operator\n"
        f"missing = []\n"
        f"for name in {REACHED!r}:\n"
        f"    try:\n"
        f"        operator.attrgetter(name)({module})\n"
        f"    except AttributeError:\n"
        f"        missing.append(name)\n"
        f"print(','.join(missing))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [n for n in out.stdout.strip().split(",") if n]


def test_optax_reaches_every_name_the_ports_use():
    assert missing_after_plain_import("optax") == []


def test_gdx_reaches_every_name_the_ports_use_after_plain_import():
    assert missing_after_plain_import("gdx") == []
