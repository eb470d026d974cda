"""GeNN 5 code strings: tokenise, check every identifier, and rename them.

A code string is C-like. Each identifier must be a C keyword, a known math
function, a name declared inside the string itself, or a name the context
provides (a variable, parameter, ``addToPost`` ...). Context names are
renamed token by token, so user names never clash with generated ones.
"""
import difflib
import re
from dataclasses import dataclass

from .errors import DefinitionError

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<number>0[xX][0-9a-fA-F]+[uUlL]*
        | (?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[fFdDuUlL]*)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<op><<=|>>=|\+\+|--|->|\+=|-=|\*=|/=|%=|&=|\|=|\^=|<<|>>|<=|>=|==|!=
        |&&|\|\||[-+*/%&|^!~<>=?:;,.(){}\[\]])
""", re.VERBOSE | re.DOTALL)

TYPE_WORDS = {
    "scalar", "timepoint", "float", "double", "bool", "int", "unsigned",
    "signed", "char", "short", "long", "auto", "void", "int8_t", "uint8_t",
    "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
    "size_t",
}
QUALIFIERS = {"const", "static", "volatile"}
KEYWORDS = {
    "if", "else", "for", "while", "do", "return", "break", "continue",
    "switch", "case", "default", "true", "false", "sizeof",
} | TYPE_WORDS | QUALIFIERS
# the functions GeNN 5.4's transpiler accepts (checked against pygenn 5.4.0)
MATH_FUNCTIONS = {
    "exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "pow", "sqrt",
    "cbrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "fabs", "abs", "fmin",
    "fmax", "fmod", "floor", "ceil", "round", "trunc", "rint",
    "min", "max", "copysign", "erf", "erfc", "tgamma", "lgamma",
    "fma", "fdim", "ldexp", "printf",
}
# GeNN 5 calls the single-precision function for float arguments (expf ...):
# C++ does so when std's overloads are visible, not with math.h's double ones
MATH_USING = " ".join(f"using std::{f};" for f in sorted(MATH_FUNCTIONS)
                      if f != "printf")
# GeNN 5's code dialect names no constants (INFINITY, M_PI, SCALAR_MAX ...
# are all undefined identifiers there): write literals instead
CONSTANTS = set()
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=",
              ">>="}


@dataclass
class Symbol:
    """What a name in a code string stands for in generated C++."""
    cpp: str
    writable: bool = False
    kind: str = "var"          # var, param, egp, func, builtin
    type: str = "scalar"


@dataclass
class Token:
    kind: str
    text: str
    line: int


@dataclass
class Where:
    model: str = None
    population: str = None
    field: str = None

    def error(self, message, line_no=None, source=None):
        line = None
        if source is not None and line_no:
            lines = source.splitlines()
            if 0 < line_no <= len(lines):
                line = lines[line_no - 1]
        return DefinitionError(message, model=self.model,
                               population=self.population, field=self.field,
                               line_no=line_no, line=line)


def tokenize(code, where=None):
    tokens = []
    pos, line = 0, 1
    while pos < len(code):
        m = _TOKEN_RE.match(code, pos)
        if m is None:
            raise (where or Where()).error(
                f"cannot parse '{code[pos:pos + 10]}'", line, code)
        kind = m.lastgroup
        text = m.group()
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, text, line))
        line += text.count("\n")
        pos = m.end()
    return tokens


def _declared_names(tokens):
    """Names the code string declares itself (locals, loop counters)."""
    declared = set()
    in_decl = False
    depth = 0
    prev = None
    for tok in tokens:
        t = tok.text
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
        if tok.kind == "ident":
            if prev is not None and (prev.text in TYPE_WORDS
                                     or prev.text in QUALIFIERS
                                     and prev.text != "const") \
                    and t not in TYPE_WORDS and t not in QUALIFIERS:
                declared.add(t)
                in_decl = True
                decl_depth = depth
            elif in_decl and prev is not None and prev.text == "," \
                    and depth == decl_depth:
                declared.add(t)
        if t in (";", "{", "}") or (t == ")" and in_decl and depth < decl_depth):
            in_decl = False
        prev = tok
    return declared


def top_level_locals(code):
    """Names ``code`` declares outside any block: visible to code that
    follows in the same scope (GeNN 5: sim code's locals in threshold and
    reset code)."""
    tokens = tokenize(code)
    out, depth, start = set(), 0, 0
    # split the token stream into top-level statements; keep their declarations
    for k, tok in enumerate(tokens):
        if tok.text in "([{":
            depth += 1
        elif tok.text in ")]}":
            depth -= 1
        if depth == 0 and tok.text in (";", "}"):
            stmt = tokens[start:k + 1]
            start = k + 1
            if stmt and stmt[0].text not in ("if", "for", "while", "do",
                                              "switch", "{", "else"):
                out |= _declared_names(stmt)
    return out


def _is_float_literal(text):
    if text.lower().startswith("0x"):
        return False
    return "." in text or "e" in text.lower() or text[-1] in "fFdD"


def _literal(text, precision):
    """GeNN treats unsuffixed float literals as 'scalar'."""
    if not _is_float_literal(text):
        return text
    if text[-1] in "dD":
        return text[:-1]
    if text[-1] in "fF":
        return text
    return text + "f" if precision == "float" else text


def translate(code, env, precision="float", where=None, expression=False):
    """Check ``code`` against ``env`` (name -> Symbol) and rename its names.

    Returns (cpp_code, used) where ``used`` is the set of env names used.
    """
    where = where or Where()
    if code is None:
        return "", set()
    tokens = tokenize(code, where)
    declared = _declared_names(tokens)
    for name in declared:
        if name in env:
            tok = next(t for t in tokens if t.text == name)
            raise where.error(f"local declaration of '{name}' hides a "
                              f"{env[name].kind} of the same name",
                              tok.line, code)
    used = set()
    out = []
    for k, tok in enumerate(tokens):
        text = tok.text
        if tok.kind == "number":
            out.append((tok.line, _literal(text, precision)))
            continue
        if tok.kind != "ident":
            out.append((tok.line, text))
            continue
        prev = tokens[k - 1].text if k > 0 else None
        nxt = tokens[k + 1].text if k + 1 < len(tokens) else None
        if prev in (".", "->"):
            out.append((tok.line, text))
            continue
        if text in env:
            sym = env[text]
            writes = (nxt in ASSIGN_OPS or nxt in ("++", "--")
                      or prev in ("++", "--"))
            if writes and not sym.writable:
                raise where.error(f"'{text}' is a read-only {sym.kind} and "
                                  "cannot be assigned", tok.line, code)
            if sym.kind == "func" and nxt != "(":
                raise where.error(f"'{text}' is a function and must be "
                                  "called", tok.line, code)
            used.add(text)
            out.append((tok.line, sym.cpp))
        elif text in KEYWORDS or text in declared or text in CONSTANTS:
            out.append((tok.line, text))
        elif text in MATH_FUNCTIONS and nxt == "(":
            out.append((tok.line, text))
        else:
            known = list(env) + sorted(MATH_FUNCTIONS)
            close = difflib.get_close_matches(text, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise where.error(f"unknown identifier '{text}'{hint}",
                              tok.line, code)
    cpp = _join(out)
    if expression:
        if any(t.text == ";" for t in tokens):
            raise where.error("a condition must be an expression, without ';'",
                              tokens[0].line if tokens else None, code)
    return cpp, used


def _join(parts):
    """Re-emit tokens keeping the source's line structure (for #line)."""
    lines = {}
    for line, text in parts:
        lines.setdefault(line, []).append(text)
    if not lines:
        return ""
    return "\n".join(" ".join(lines.get(n, []))
                     for n in range(1, max(lines) + 1))


def used_names(code, names):
    """Which of ``names`` appear as identifiers in ``code`` (no checking)."""
    if not code:
        return set()
    found = {t.text for t in tokenize(code) if t.kind == "ident"}
    return found & set(names)


def written_names(code, names):
    """Which of ``names`` the code assigns (=, op=, ++, --)."""
    if not code:
        return set()
    toks = tokenize(code)
    names = set(names)
    out = set()
    for k, t in enumerate(toks):
        if t.kind != "ident" or t.text not in names:
            continue
        prev = toks[k - 1].text if k else None
        nxt = toks[k + 1].text if k + 1 < len(toks) else None
        if prev in (".", "->"):
            continue
        if nxt in ASSIGN_OPS or nxt in ("++", "--") or prev in ("++", "--"):
            out.add(t.text)
    return out
