"""Render the update rules of gdx's docstrings as math on the API pages.

The docstrings write each update rule as plain-text pseudo-code in a literal block,
readable in `help()` and in an editor::

    Update rule (`t` counts from 1)::

        mu <- b1 * mu + (1 - b1) * g
        u  <- -lr * mu_hat / (sqrt(nu_hat) + eps)

`conf.py` calls `rules_as_math` from `autodoc-process-docstring`: a literal block that
follows a paragraph naming a rule ("Update rule", "Rule", "Each step") and whose every
line is an assignment (`<-` or `=`) of a Python expression, an expression continuing the
line above, or blank, becomes a `.. math::` block (LaTeX built from the parsed
expressions: `/` as a fraction, `**` as a power, `sqrt` as a root, `b1` as beta_1, ...).
Any other block, or a rule with a line this translator does not understand (Python
statements, prose), stays a literal block: the docstrings are the source and are not
rewritten.
"""

import ast
import re

GREEK = {
    "alpha": r"\alpha",
    "beta": r"\beta",
    "gamma": r"\gamma",
    "delta": r"\delta",
    "eps": r"\epsilon",
    "epsilon": r"\epsilon",
    "eta": r"\eta",
    "theta": r"\theta",
    "lam": r"\lambda",
    "lambda_": r"\lambda",
    "mu": r"\mu",
    "nu": r"\nu",
    "rho": r"\rho",
    "sigma": r"\sigma",
    "tau": r"\tau",
    "phi": r"\phi",
    "psi": r"\psi",
    "omega": r"\omega",
    "lr": r"\eta",
    "lamb": r"\lambda",  # madgrad's lambda
    "b1": r"\beta_1",
    "b2": r"\beta_2",
    "b3": r"\beta_3",
}
FUNCTIONS = {"sign", "tanh", "exp", "log", "max", "min", "clip", "norm", "mean", "sum", "rms", "sin", "cos"}
INTRO = re.compile(r"\b(update rule|rule|each step)\b", re.IGNORECASE)
ASSIGN = re.compile(
    r"^(?P<lhs>[A-Za-z_][A-Za-z_0-9]*(?:\s*,\s*[A-Za-z_][A-Za-z_0-9]*)*)\s*(?P<op><-|=)\s*(?P<rhs>.+)$"
)

# Binding strength of an expression node, for parentheses.
PREC = {
    ast.Add: 1,
    ast.Sub: 1,
    ast.Mult: 2,
    ast.MatMult: 2,
    ast.Div: 2,
    ast.FloorDiv: 2,
    ast.Mod: 2,
    ast.Pow: 4,
}


class Untranslatable(Exception):
    """A line this translator cannot turn into LaTeX: the block stays literal."""


def name(identifier: str) -> str:
    if identifier in GREEK:
        return GREEK[identifier]
    match = re.fullmatch(r"([A-Za-z]+?)_?(\d+)", identifier)
    if match and len(match.group(1)) <= 2:  # x0, g1, c2
        return f"{_base(match.group(1))}_{{{match.group(2)}}}"
    head, _, tail = identifier.partition("_")
    if tail and (len(head) <= 2 or head in GREEK):
        if tail == "hat":
            return rf"\hat{{{_base(head)}}}"
        sub = name(tail) if tail in GREEK else rf"\mathrm{{{_escape(tail)}}}"
        return f"{_base(head)}_{{{sub}}}"
    return _base(identifier)


def _base(identifier: str) -> str:
    if identifier in GREEK:
        return GREEK[identifier]
    return identifier if len(identifier) == 1 else rf"\mathrm{{{_escape(identifier)}}}"


def _escape(text: str) -> str:
    return text.replace("\\", r"\backslash ").replace("_", r"\_").replace("#", r"\#").replace("%", r"\%")


def _text(text: str) -> str:
    # MathJax shows \text{...} verbatim (no macros): only the braces and `&` must not reach it.
    for old, new in (("`", ""), ("\\", "/"), ("{", "("), ("}", ")"), ("&", "and"), ("$", "")):
        text = text.replace(old, new)
    return rf"\text{{{text}}}"


def latex(node: ast.AST) -> str:
    """LaTeX of one parsed expression (raises `Untranslatable` for what it does not know)."""
    if isinstance(node, ast.Name):
        return name(node.id)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return _number(node)
    if isinstance(node, ast.BinOp):
        left, right = node.left, node.right
        op = type(node.op)
        if op is ast.Div:
            return rf"\frac{{{latex(left)}}}{{{latex(right)}}}"
        if op is ast.Pow:
            return f"{{{_wrap(left, PREC[ast.Pow] + 1)}}}^{{{latex(right)}}}"
        if op is ast.FloorDiv:
            return rf"\left\lfloor \frac{{{latex(left)}}}{{{latex(right)}}} \right\rfloor"
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: r"\,", ast.MatMult: r"\,", ast.Mod: r"\bmod"}.get(op)
        if symbol is None:
            raise Untranslatable(ast.dump(node))
        if op in (ast.Mult, ast.MatMult) and _is_number(right):
            symbol = r"\cdot"  # `g * 2` reads badly as `g 2`
        if op in (ast.Mult, ast.MatMult) and _is_number(left) and _is_number(right):
            symbol = r"\cdot"
        strength = PREC[op]
        # a - (b - c), a / (b * c): the right operand needs parentheses at equal strength.
        return f"{_wrap(left, strength)} {symbol} {_wrap(right, strength + (op in (ast.Sub, ast.Mod)))}"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return "-" + _wrap(node.operand, 3)
        if isinstance(node.op, ast.UAdd):
            return "+" + _wrap(node.operand, 3)
        if isinstance(node.op, ast.Not):
            return r"\lnot " + _wrap(node.operand, 3)
        raise Untranslatable(ast.dump(node))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function, args = node.func.id, [latex(arg) for arg in node.args]
        if function == "sqrt" and len(args) == 1:
            return rf"\sqrt{{{args[0]}}}"
        if function == "abs" and len(args) == 1:
            return rf"\left|{args[0]}\right|"
        if function == "norm" and len(args) == 1:
            return rf"\left\lVert {args[0]} \right\rVert"
        if function.startswith("norm_") and len(args) == 1:
            return rf"\left\lVert {args[0]} \right\rVert_{{{function[5:]}}}"
        if function == "inner" and len(args) == 2:
            return rf"\left\langle {args[0]}, {args[1]} \right\rangle"
        head = rf"\operatorname{{{_escape(function)}}}" if function in FUNCTIONS else name(function)
        return rf"{head}\left({', '.join(args)}\right)"
    if isinstance(node, ast.Compare):
        symbols = {ast.Lt: "<", ast.LtE: r"\le", ast.Gt: ">", ast.GtE: r"\ge", ast.Eq: "=", ast.NotEq: r"\ne"}
        out = latex(node.left)
        for op, right in zip(node.ops, node.comparators):
            if type(op) not in symbols:
                raise Untranslatable(ast.dump(node))
            out += f" {symbols[type(op)]} {latex(right)}"
        return out
    if isinstance(node, ast.IfExp):
        return (
            rf"{latex(node.body)} \;\text{{if}}\; {latex(node.test)} \;\text{{else}}\; {latex(node.orelse)}"
        )
    if isinstance(node, ast.BoolOp):
        joiner = r" \;\text{and}\; " if isinstance(node.op, ast.And) else r" \;\text{or}\; "
        return joiner.join(_wrap(value, 0.5) for value in node.values)
    if isinstance(node, ast.Tuple):
        return r"\left(" + ", ".join(latex(e) for e in node.elts) + r"\right)"
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return f"{name(node.value.id)}_{{{latex(node.slice)}}}"
    raise Untranslatable(ast.dump(node))


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float))


def _number(node: ast.Constant) -> str:
    text = ast.get_source_segment(_SOURCE[0], node) or repr(node.value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)[eE]([+-]?\d+)", text)
    if match:
        mantissa, exponent = match.groups()
        power = f"10^{{{int(exponent)}}}"
        return power if mantissa in ("1", "1.0") else rf"{mantissa} \cdot {power}"
    return text


_SOURCE = [""]  # the expression being translated, for numbers as written (1e-8, not 1e-08)


def _strength(node: ast.AST) -> float:
    if isinstance(node, ast.BinOp):
        # A fraction or a power is typeset as one block: it never needs parentheses.
        return 5 if isinstance(node.op, (ast.Div, ast.Pow, ast.FloorDiv)) else PREC[type(node.op)]
    if isinstance(node, ast.UnaryOp):
        return 3
    if isinstance(node, (ast.Compare, ast.IfExp, ast.BoolOp)):
        return 0
    return 6


def _wrap(node: ast.AST, strength: float) -> str:
    text = latex(node)
    return rf"\left({text}\right)" if _strength(node) < strength else text


def expression(source: str) -> str:
    source = re.sub(r"\|\|([^|]+)\|\|_(\w)", r"norm_\2(\1)", source)  # ||A||_F -> norm_F(A)
    source = re.sub(r"\|\|([^|]+)\|\|", r"norm(\1)", source)  # ||g|| -> norm(g)
    source = re.sub(r"\|([^|]+)\|", r"abs(\1)", source)  # |c| -> abs(c)
    source = re.sub(r"<([^<>=]+,[^<>=]+)>", r"inner(\1)", source)  # <g, x> -> inner(g, x)
    source = re.sub(r"\b([A-Za-z]\w*)_\{([^{}]+)\}", r"\1[\2]", source)  # s_{t-1} -> s[t-1]
    source = source.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        source = JUXTAPOSED.sub(_times, source)  # `lamb g**2`, `2 t b2**t`, `z A`: products
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as error:
            raise Untranslatable(source) from error
    _SOURCE[0] = source
    return latex(tree.body)


# Two operands side by side (`lamb g`, `2 t`, `) x`), neither of them a Python keyword.
JUXTAPOSED = re.compile(r"(?P<left>[\w.)\]]+)\s+(?=(?P<right>[A-Za-z_(][\w.]*))")
KEYWORDS = {
    "if",
    "else",
    "and",
    "or",
    "not",
    "for",
    "in",
    "is",
    "lambda",
    "where",
    "of",
    "at",
    "then",
    "when",
}


def _times(match: re.Match[str]) -> str:
    left, right = match.group("left"), match.group("right")
    if _symbol(left.rstrip(")]")) and _symbol(right.lstrip("(")):
        return left + " * "
    return match.group(0)  # prose (`shrink it`), a keyword: left as is, so the parse fails


def _symbol(token: str) -> bool:
    """A number, a short name (`g`, `x0`, `P_k`) or a Greek one: what juxtaposition multiplies."""
    head = token.split("_")[0]
    if token in KEYWORDS:
        return False
    return not token or bool(re.fullmatch(r"[\d.]+", token)) or len(head) <= 2 or head in GREEK


LABEL = re.compile(r"^(?P<label>[A-Za-z][\w ,]*):\s+(?P<rest>\S.*)$")
# Prose after the code: two or more spaces, then a parenthesis or a word (`(0 where s == 0)`, `every step`).
TRAILER = re.compile(r"^(?P<code>.*?\S)\s{2,}(?P<note>(?:\(|[A-Za-z]).*)$")


def _note(note: str) -> str:
    words = note.strip()
    for word in ("if", "where", "at", "when"):
        if words.startswith(word + " "):
            try:
                return rf" \qquad \text{{{word} }} {expression(words[len(word) + 1 :])}"
            except Untranslatable:
                break
    return rf" \qquad {_text(words)}"


def line_as_math(line: str, indent: int = 0) -> list[str]:
    """One line of pseudo-code as rows of an `aligned` environment (`indent`: nesting depth)."""
    code, _, comment = line.partition("#")
    code = code.strip()
    tail = rf" \qquad {_text(comment.strip())}" if comment.strip() else ""
    if code.endswith(":") and not ASSIGN.match(code):  # `if rho >= threshold:`, `factored leaf:`
        head = code[:-1].strip()
        if head.startswith("if "):
            return [rf"&\text{{if }} {expression(head[3:])}\text{{:}}{tail}"]
        if head == "else":
            return [rf"&\text{{else:}}{tail}"]
        return [rf"&{_text(code)}{tail}"]
    prefix = ""
    label = LABEL.match(code)
    if label and not ASSIGN.match(code):
        prefix, code = _text(label.group("label") + ":") + r"\; ", label.group("rest")
    statements = [part.strip() for part in code.split(";") if part.strip()]
    rows = []
    for k, statement in enumerate(statements):
        note = ""
        trailer = TRAILER.match(statement)
        if trailer and not _parses(statement):
            statement, note = trailer.group("code"), _note(trailer.group("note"))
        rows.append(_row(statement, (prefix if k == 0 else "") + r"\quad " * indent, note))
    if not rows:
        raise Untranslatable(line)
    rows[-1] += tail
    return rows


def _parses(statement: str) -> bool:
    try:
        _row(statement, "", "")
    except Untranslatable:
        return False
    return True


def _row(code: str, prefix: str, note: str) -> str:
    match = ASSIGN.match(code)
    if match:
        targets = [name(t.strip()) for t in match.group("lhs").split(",")]
        arrow = r"\leftarrow" if match.group("op") == "<-" else "="
        return f"{prefix}{', '.join(targets)} &{arrow} {expression(match.group('rhs'))}{note}"
    if code:  # an expression continuing the line above (an alternative, a second term)
        return f"{prefix}&\\phantom{{=}} {expression(code)}{note}"
    raise Untranslatable(code)


def _joined(body: list[str]) -> list[str]:
    """Lines, with a line that continues an open parenthesis or starts with an operator joined up."""
    out: list[str] = []
    for line in body:
        if not line.strip():
            continue
        code = line.split("#", 1)[0]
        if out and (_open(out[-1]) or re.match(r"^\s*[-+*/](?!\s*>)", code)):
            out[-1] = out[-1].split("#", 1)[0].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return out


def _depths(lines: list[str]) -> list[int]:
    """How deep each line is nested under a header line (one ending with `:`) above it."""
    depths, stack = [], []  # stack: the indents of the open headers
    for line in lines:
        indent = len(line) - len(line.lstrip())
        while stack and indent <= stack[-1]:
            stack.pop()
        depths.append(len(stack))
        if line.split("#", 1)[0].rstrip().endswith(":"):
            stack.append(indent)
    return depths


def _open(line: str) -> bool:
    code = line.split("#", 1)[0]
    return code.count("(") > code.count(")")


def block_as_math(body: list[str]) -> list[str]:
    lines = _joined(body)
    rows = [row for line, depth in zip(lines, _depths(lines)) for row in line_as_math(line, depth)]
    return [r"\begin{aligned}", *(row + r" \\" for row in rows[:-1]), rows[-1], r"\end{aligned}"]


def rules_as_math(lines: list[str]) -> int:
    """Replace, in place, each update-rule literal block of a docstring by a math block.

    Returns how many blocks were replaced.
    """
    out: list[str] = []
    replaced = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.rstrip().endswith("::") or line.strip() == "::":
            out.append(line)
            i += 1
            continue
        # The paragraph this line ends: back to the previous blank line.
        start = len(out)
        while start > 0 and out[start - 1].strip():
            start -= 1
        paragraph = " ".join(part.strip() for part in [*out[start:], line])
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        body: list[str] = []
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
            body.append(lines[j])
            j += 1
        while body and not body[-1].strip():
            body.pop()
        math = None
        if INTRO.search(paragraph) and body:
            try:
                math = block_as_math(body)
            except Untranslatable:
                math = None
        if math is None:
            out.append(line)
            i += 1
            continue
        pad = " " * indent
        out.append(line.rstrip()[:-1])  # "Update rule::" -> "Update rule:"
        out += ["", pad + ".. math::", "", *(pad + "   " + row for row in math), ""]
        replaced += 1
        i = j
    lines[:] = out
    return replaced
