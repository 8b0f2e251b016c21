"""Run the ```python blocks of one Markdown file in order, in this fresh interpreter.

    python tests/_doc_blocks.py FILE.md

Every block runs in one namespace, as a reader pasting them in order would run them. On
the first error it prints which block failed (its number and first line in the file) with
the traceback, and exits 1. Nothing is imported before the first block, so a block may set
`XLA_FLAGS` before it imports jax. `tests/test_docs.py` runs it on every guide and the README.
"""

import re
import sys
import traceback
from pathlib import Path

FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[tuple[int, str]]:
    """`(first line number of the code, code)` of every ```python block, in order."""
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in FENCE.finditer(text)]


def main(path: str) -> int:
    namespace: dict[str, object] = {"__name__": "__main__"}
    found = blocks(Path(path).read_text())
    for number, (line, code) in enumerate(found, 1):
        try:
            exec(compile(code, f"{path}:block {number} (line {line})", "exec"), namespace)
        except BaseException:
            print(f"{path}: python block {number} of {len(found)} (line {line}) failed:", file=sys.stderr)
            traceback.print_exc()
            return 1
    print(f"{path}: {len(found)} python blocks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
