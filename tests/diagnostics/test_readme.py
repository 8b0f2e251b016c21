from pathlib import Path
from typing import Any

import numpy as np

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_diagnostics_snippet_runs(capsys):
    section = README.read_text().split("## Diagnostics", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"__name__": "readme_diagnostics"}
    exec(compile(snippet, "README.md#diagnostics", "exec"), namespace)
    assert np.isfinite(namespace["grad_norms"]).all() and namespace["logged"]["learning_rate"] > 0
    out = capsys.readouterr().out
    assert "healthy" in out and "gradient check OK" in out
