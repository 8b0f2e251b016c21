from pathlib import Path
from typing import Any

import numpy as np

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "diagnostics.md"


def test_diagnostics_guide_snippet_runs(capsys):
    section = GUIDE.read_text()
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"__name__": "readme_diagnostics"}
    exec(compile(snippet, "docs/guides/diagnostics.md", "exec"), namespace)
    assert np.isfinite(namespace["grad_norms"]).all() and namespace["logged"]["learning_rate"] > 0
    out = capsys.readouterr().out
    assert "healthy" in out and "gradient check OK" in out
