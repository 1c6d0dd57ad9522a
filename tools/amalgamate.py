# SPDX-License-Identifier: MIT
"""Generate the single-header distribution of wsm.

    python3 tools/amalgamate.py [-o build/single_header/wsm.h] [--strict] [-v]

The output is include/wsm.h (the declarations, always) followed by lib/*.c
(the implementation, only where WSM_IMPLEMENTATION is defined), in the order
of LIB_ORDER. lib/wsm_internal.h is inlined once, includes of "wsm.h" are
dropped, functions declared WSM_INTERNAL become static, and the macros each
.c file leaves defined are #undef'd after it so that they cannot reach the
next file or the user's code. Python 3 standard library only.

Renaming rule: the implementation's own names get the prefix wsm_i_, so
that they cannot clash with the names of the file that compiles it. They are
the names declared at file scope (functions, objects, typedefs, tags, enum
constants) by a definition in a lib/*.c or by any declaration in a header of
lib/, and the macros a file of lib/ defines before any #if, #ifdef or #undef
of it there (not feature-test macros, not names that start with "_"); a name
include/wsm.h declares or that starts with wsm_ or WSM_ keeps its name. The
renaming is by token, never inside a string literal, a character constant
or a comment. A macro is renamed from its #define to its #undef, everywhere,
as the preprocessor would expand it; any other name everywhere in the
implementation except where it names a member: after "." or "->", or as the
declarator of a member in a struct or union body.

File-local names of different .c files still share one translation unit:
the script looks for names defined at file scope in more than one .c file
and warns about each (--strict makes that an error); renaming both the same
way would not part them, that is for lib/ to do.
"""

import argparse
import os
import re
import sys

# The implementation's order: each file after the ones it leans on. A listed
# file that does not exist is skipped (handshake.c may not be written yet); a
# lib/*.c not listed goes at the end, in name order, with a warning.
LIB_ORDER = [
    "errors.c",
    "utf8.c",
    "mask.c",
    "frame.c",
    "sha1.c",
    "base64.c",
    "http.c",
    "handshake.c",
    "random.c",
    "conn.c",
]
OPTIONAL = {"handshake.c"}

PUBLIC_HEADER = "include/wsm.h"
PRIVATE_HEADER = "lib/wsm_internal.h"

PROG = "amalgamate.py"

# Feature-test macros must precede every system header of a translation unit.
FEATURE_MACROS = {
    "_GNU_SOURCE", "_DEFAULT_SOURCE", "_BSD_SOURCE", "_POSIX_C_SOURCE",
    "_POSIX_SOURCE", "_XOPEN_SOURCE", "_XOPEN_SOURCE_EXTENDED",
    "_DARWIN_C_SOURCE", "_NETBSD_SOURCE", "_ALL_SOURCE", "__EXTENSIONS__",
    "_ISOC99_SOURCE", "_ISOC11_SOURCE", "_FILE_OFFSET_BITS", "_TIME_BITS",
    "_LARGEFILE_SOURCE", "_LARGEFILE64_SOURCE", "_REENTRANT",
    "WIN32_LEAN_AND_MEAN", "_CRT_SECURE_NO_WARNINGS",
}

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if",
    "inline", "int", "long", "register", "restrict", "return", "short",
    "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while", "_Bool", "_Complex",
    "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Noreturn",
    "_Static_assert", "_Thread_local", "__inline", "__inline__",
    "__restrict", "__restrict__", "__extension__",
}
ATTRIBUTE_WORDS = {"__attribute__", "__attribute", "__declspec", "alignas"}


class Error(Exception):
    pass


def warn(msg):
    sys.stderr.write("%s: warning: %s\n" % (PROG, msg))


def read_text(path):
    with open(path, "r", encoding="utf-8") as f:
        return f.read().replace("\r\n", "\n")


# ---------------------------------------------------------------------------
# Lexing, just enough to find directives and file-scope declarations.

LITERAL_OR_COMMENT = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
TOKEN = re.compile(
    r'[A-Za-z_][A-Za-z0-9_]*'
    r'|\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*'
    r'|"[^"\n]*"|\'[^\'\n]*\''
    r'|->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|\.\.\.|##'
    r'|\S')
IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*$')
DIRECTIVE = re.compile(r'\s*#\s*([A-Za-z_]+)\s*(.*)$', re.S)


def blank_literals(text):
    """Comments become spaces and string contents blanks; lines stay put."""
    def repl(m):
        s = m.group(0)
        if s.startswith("/"):
            return re.sub(r"[^\n]", " ", s)
        return s[0] + " " * (len(s) - 2) + s[-1]
    return LITERAL_OR_COMMENT.sub(repl, text)


def split_lines(text):
    """Physical lines of the blanked text as (directive, logical text,
    first line number, last line number): continuation lines are joined."""
    phys = blank_literals(text).split("\n")
    out = []
    i = 0
    while i < len(phys):
        start = i
        line = phys[i]
        while line.endswith("\\") and i + 1 < len(phys):
            i += 1
            line = line[:-1] + " " + phys[i]
        out.append((line.lstrip().startswith("#"), line, start + 1, i + 1))
        i += 1
    return out


class Tok(object):
    __slots__ = ("text", "line", "inner", "pos", "directive", "role")

    def __init__(self, text, line, inner=None, pos=None, directive=None):
        self.text = text    # the token, or the opening bracket of a group
        self.line = line
        self.inner = inner  # a group's tokens, nested; None for a token
        self.pos = pos      # offset in the file's text (scan() only)
        self.directive = directive  # its line's directive word (scan() only)
        self.role = None    # "define" or "undef": the macro name of that line


def tokenize(lines):
    flat = []
    for directive, text, first, _ in lines:
        if directive:
            continue
        for m in TOKEN.finditer(text):
            flat.append(Tok(m.group(0), first))
    return nest(flat, 0, None)[0]


def nest(flat, i, closer):
    """Fold bracketed runs into group tokens."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    items = []
    while i < len(flat):
        t = flat[i]
        if t.text == closer:
            return items, i + 1
        if t.text in pairs:
            inner, i = nest(flat, i + 1, pairs[t.text])
            items.append(Tok(t.text, t.line, inner, t.pos))
            continue
        if t.text in (")", "]", "}"):
            raise Error("line %d: unbalanced '%s'" % (t.line, t.text))
        items.append(t)
        i += 1
    if closer is not None:
        raise Error("unbalanced brackets: '%s' missing at the end" % closer)
    return items, i


def is_group(t, opener=None):
    return t.inner is not None and (opener is None or t.text == opener)


def split_top(items, sep):
    parts, cur = [], []
    for t in items:
        if not is_group(t) and t.text == sep:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


def unwrap_linkage_blocks(items):
    """extern "C" { ... } holds file-scope declarations: splice them in."""
    out = []
    for t in items:
        if (is_group(t, "{") and len(out) >= 2 and out[-1].text[:1] == '"'
                and out[-2].text == "extern"):
            del out[-2:]
            out.extend(unwrap_linkage_blocks(t.inner))
        else:
            out.append(t)
    return out


def external_declarations(items):
    """File scope as (specifiers and declarators, function body or None)."""
    decls, cur = [], []
    for t in unwrap_linkage_blocks(items):
        if not is_group(t) and t.text == ";":
            if cur:
                decls.append((cur, None))
            cur = []
        elif (is_group(t, "{") and cur and is_group(cur[-1], "(")
              and not any(x.text == "=" and not is_group(x) for x in cur)):
            decls.append((cur, t))
            cur = []
        else:
            cur.append(t)
    if cur:
        decls.append((cur, None))
    return decls


def strip_attributes(items):
    out, skip_group = [], False
    for t in items:
        if skip_group and is_group(t, "("):
            skip_group = False
            continue
        skip_group = False
        if not is_group(t) and t.text in ATTRIBUTE_WORDS:
            skip_group = True
            continue
        out.append(t)
    return out


def declarator(piece):
    """(name token, is_function) of one declarator; None if it has no name."""
    for k, t in enumerate(piece):
        if is_group(t, "("):
            inner = [x for x in t.inner if not is_group(x)]
            if inner and inner[0].text == "*":
                names = [x for x in inner if IDENT.match(x.text)
                         and x.text not in C_KEYWORDS]
                return (names[-1] if names else None), False
            if k > 0 and IDENT.match(piece[k - 1].text) \
                    and piece[k - 1].text not in C_KEYWORDS:
                return piece[k - 1], True
            return None, False
    names = [x for x in piece if not is_group(x) and IDENT.match(x.text)
             and x.text not in C_KEYWORDS]
    return (names[-1] if names else None), False


def declarator_name(piece):
    """(name, is_function) of one declarator; name None if it has none."""
    tok, is_function = declarator(piece)
    return (tok.text if tok is not None else None), is_function


class Name(object):
    def __init__(self, name, kind, line, static, definition, internal=False):
        self.name = name
        self.kind = kind  # function, object, typedef, enum constant, tag
        self.line = line
        self.static = static
        self.definition = definition
        self.internal = internal  # declared WSM_INTERNAL


def file_scope_names(items):
    names = []
    for decl, body in external_declarations(items):
        decl = strip_attributes(decl)
        words = set(t.text for t in decl if not is_group(t))
        typedef = "typedef" in words
        static = "static" in words
        extern = "extern" in words
        internal = "WSM_INTERNAL" in words
        rest = []
        k = 0
        while k < len(decl):
            t = decl[k]
            if not is_group(t) and t.text in ("struct", "union", "enum"):
                tag = None
                k += 1
                if k < len(decl) and not is_group(decl[k]) \
                        and IDENT.match(decl[k].text):
                    tag = decl[k]
                    k += 1
                if k < len(decl) and is_group(decl[k], "{"):
                    if tag is not None:
                        names.append(Name(tag.text, "tag", tag.line, True,
                                          True))
                    if t.text == "enum":
                        for part in split_top(decl[k].inner, ","):
                            if part and IDENT.match(part[0].text):
                                names.append(Name(part[0].text,
                                                  "enum constant",
                                                  part[0].line, True, True))
                    k += 1
                rest.append(Tok("int", t.line))  # stands for the type
                continue
            rest.append(t)
            k += 1
        for piece in split_top(rest, ","):
            cut = []
            for t in piece:
                if not is_group(t) and t.text == "=":
                    break
                cut.append(t)
            name, is_function = declarator_name(cut)
            if name is None or not cut:
                continue
            line = cut[0].line
            if typedef:
                names.append(Name(name, "typedef", line, True, True))
            elif is_function:
                names.append(Name(name, "function", line, static,
                                  body is not None, internal))
            else:
                names.append(Name(name, "object", line, static, not extern,
                                  internal))
    return names


class Source(object):
    """One input file: its text and what the scanner found in it."""

    def __init__(self, root, rel):
        self.rel = rel
        self.path = os.path.join(root, rel)
        self.text = read_text(self.path)
        self.out_text = self.text  # what is emitted: renamed by generate()
        self.renamed_macros = set()
        self.lines = split_lines(self.text)
        self.left_defined = {}  # macros still defined at the end: name -> line
        self.features = []      # feature-test macros: (name, value, line)
        self.own_macros = set()  # defined before any test or #undef of them
        tested = set()
        for directive, text, first, _ in self.lines:
            if not directive:
                continue
            m = DIRECTIVE.match(text)
            if not m:
                continue
            word, arg = m.group(1), m.group(2).strip()
            if word in ("if", "ifdef", "ifndef", "elif", "undef"):
                tested.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", arg))
            mname = re.match(r"[A-Za-z_][A-Za-z0-9_]*", arg)
            if not mname:
                continue
            if word == "define":
                if mname.group(0) not in tested:
                    self.own_macros.add(mname.group(0))
                self.left_defined[mname.group(0)] = first
                if mname.group(0) in FEATURE_MACROS:
                    value = self.text.split("\n")[first - 1]
                    value = re.sub(r"^\s*#\s*define\s+\w+", "", value)
                    self.features.append((mname.group(0), value.strip(),
                                          first))
            elif word == "undef":
                self.left_defined.pop(mname.group(0), None)
        try:
            self.names = file_scope_names(tokenize(self.lines))
        except Error as e:
            raise Error("%s: %s" % (rel, e))


# ---------------------------------------------------------------------------
# Checks over the whole translation unit.

def find_clashes(sources):
    """Names defined at file scope by more than one .c file."""
    seen = {}
    for src in sources:
        here = set()
        for n in src.names:
            if n.kind in ("function", "object") and not n.definition:
                continue  # a declaration of something defined elsewhere
            space = "tag" if n.kind == "tag" else "ordinary"
            key = (space, n.name)
            if key in here:
                continue  # e.g. one helper per platform in #if branches
            here.add(key)
            seen.setdefault(key, []).append((src.rel, n.line, n.kind, n.static))
    return sorted((key, where) for key, where in seen.items()
                  if len(where) > 1)


def find_leaks(sources, declared):
    """Functions and objects given external linkage by a .c file without a
    declaration in the headers: outside the library's API and internals."""
    leaks = []
    for src in sources:
        for n in src.names:
            if n.kind in ("function", "object") and n.definition \
                    and not n.static and n.name not in declared:
                leaks.append((src.rel, n.line, n.kind, n.name))
    return leaks


# ---------------------------------------------------------------------------
# Renaming the implementation's own names (the rule is at the top).

PRIVATE_PREFIX = "wsm_i_"
KEPT_PREFIXES = ("wsm_", "WSM_")
# Directives whose words are no names of the program.
NOT_RENAMED_IN = {"include", "include_next", "import", "pragma", "error",
                  "warning", "line", "ident"}


def scan(text):
    """Every token of text, comments and literals blanked, with its offset.
    A token of a directive knows the directive's word; the macro name of a
    #define or an #undef has that word as its role."""
    toks = []
    pos = 0
    word = None  # the directive this line belongs to, if any
    for number, line in enumerate(blank_literals(text).split("\n"), 1):
        starts = word is None
        if starts:
            m = re.match(r"\s*#\s*([A-Za-z_]*)", line)
            word = m.group(1) if m else None
        here = [Tok(m.group(0), number, None, pos + m.start(), word)
                for m in TOKEN.finditer(line)]
        if starts and word in ("define", "undef") and len(here) > 2:
            here[2].role = word
        toks.extend(here)
        if not line.endswith("\\"):
            word = None
        pos += len(line) + 1
    return toks


def member_declarators(items, found):
    """Add to found the offsets of the names with which members are declared
    in the struct and union bodies among items, nested ones too."""
    for k, t in enumerate(items):
        if t.inner is None:
            continue
        member_declarators(t.inner, found)
        if t.text != "{" or k == 0:
            continue
        before = items[k - 1].text
        if before not in ("struct", "union") and not (
                k >= 2 and IDENT.match(before)
                and items[k - 2].text in ("struct", "union")):
            continue
        for decl in split_top(t.inner, ";"):
            # A type named by a tag or with a body of its own stands for
            # one word, so that the tag is never taken for the member.
            folded, j = [], 0
            decl = strip_attributes(decl)
            while j < len(decl):
                x = decl[j]
                j += 1
                if not is_group(x) and x.text in ("struct", "union", "enum"):
                    if j < len(decl) and IDENT.match(decl[j].text):
                        j += 1
                    if j < len(decl) and is_group(decl[j], "{"):
                        j += 1
                    folded.append(Tok("int", x.line))
                else:
                    folded.append(x)
            for piece in split_top(folded, ","):
                cut = []
                for x in piece:
                    if not is_group(x) and x.text == ":":
                        break  # a bit-field's width
                    cut.append(x)
                tok, _ = declarator(cut)
                if tok is not None:
                    found.add(tok.pos)


def private_names(public, headers, sources):
    """The names the rule renames; the macros are per file (own_macros)."""
    public_names = set(n.name for n in public.names) | set(public.left_defined)
    names = set()
    for src in headers + sources:
        for n in src.names:
            if (src in sources and n.kind in ("function", "object")
                    and not n.definition):
                continue  # perhaps a declaration of the C library's
            if not n.name.startswith(KEPT_PREFIXES) \
                    and n.name not in public_names:
                names.add(n.name)
    for src in headers + sources:
        src.renamed_macros = set(
            name for name in src.own_macros
            if not name.startswith(KEPT_PREFIXES) and not name.startswith("_")
            and name not in public_names and name not in FEATURE_MACROS)
    return names


def rename(src, names, macros, live):
    """src's text with names and macros given PRIVATE_PREFIX. live holds the
    macros defined where src starts; it is left with those defined at its
    end. A macro is renamed from its #define to its #undef wherever it
    stands, as the preprocessor would replace it; any other name only where
    it is no member."""
    toks = scan(src.text)
    if any(t.text.startswith(PRIVATE_PREFIX) for t in toks):
        raise Error("%s uses the prefix %s, which is kept for renamed names"
                    % (src.rel, PRIVATE_PREFIX))
    members = set()
    code = [t for t in toks if t.directive is None]
    member_declarators(nest(code, 0, None)[0], members)
    out, done, prev = [], 0, None
    params = set()  # of the function-like macro being defined: its own
    for k, t in enumerate(toks):
        name, new = t.text, False
        if t.role == "define":
            params = set()
            if k + 1 < len(toks) and toks[k + 1].text == "(" \
                    and toks[k + 1].pos == t.pos + len(name):
                for x in toks[k + 2:]:
                    if x.text == ")":
                        break
                    params.add(x.text)
        if t.directive in NOT_RENAMED_IN or not IDENT.match(name) \
                or (t.directive == "define" and name in params):
            pass
        elif name in macros and t.role == "define":
            live.add(name)
            new = True
        elif name in macros and name in live:
            if t.role == "undef":
                live.discard(name)
            new = True
        elif name in names:
            new = (t.pos not in members
                   and not (prev is not None and prev.text in (".", "->")))
        if new:
            out.append(src.text[done:t.pos] + PRIVATE_PREFIX + name)
            done = t.pos + len(name)
        prev = t
    out.append(src.text[done:])
    return "".join(out)


# ---------------------------------------------------------------------------
# Output.

SPDX_LINE = re.compile(r"\s*/\*\s*SPDX-License-Identifier:[^*]*\*/\s*$")
QUOTED_INCLUDE = re.compile(r'\s*#\s*include\s*"([^"]+)"')


def licence_text(root):
    path = os.path.join(root, "LICENSE")
    if not os.path.exists(path):
        raise Error("LICENSE not found at the top of the repository")
    lines = read_text(path).rstrip("\n").split("\n")
    if lines and lines[0].startswith("SPDX-License-Identifier"):
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    if any("*/" in line for line in lines):
        raise Error("LICENSE contains '*/'")
    return lines


def emit_source(src, out, ctx, kind):
    """Append src's lines to out, with its private includes inlined; kind is
    "public", "private" (a header of lib/) or "c"."""
    raw = src.out_text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    skip, includes = set(), set()
    for directive, text, first, last in split_lines(src.out_text):
        if not directive:
            continue
        m = DIRECTIVE.match(text)
        if m and m.group(1) == "include":
            includes.add(first)
        if m and m.group(1) == "define":
            name = m.group(2).strip().split("(")[0].split()[0]
            if name in FEATURE_MACROS or (
                    kind == "private" and name == "WSM_ALLOW_PRIVATE_ACCESS"):
                skip.update(range(first, last + 1))
    out.append("/* %s */" % src.rel)
    for number, line in enumerate(raw, 1):
        if number == 1 and SPDX_LINE.match(line):
            continue
        if number in skip:
            continue
        m = QUOTED_INCLUDE.match(line) if number in includes else None
        if m:
            name = m.group(1)
            if name == os.path.basename(PUBLIC_HEADER):
                continue  # the declarations are above
            if name in ctx["private"]:
                if name not in ctx["inlined"]:
                    ctx["inlined"].add(name)
                    emit_source(ctx["private"][name], out, ctx, "private")
                continue
            raise Error('%s:%d: #include "%s" is neither wsm.h nor a header '
                        'of lib/' % (src.rel, number, name))
        out.append(line)
    if kind == "c":
        # Each .c file was a translation unit of its own: its macros end
        # with it, before the next file or the user's code can see them.
        ends = [name for name in sorted(src.left_defined,
                                        key=src.left_defined.get)
                if name not in FEATURE_MACROS
                and name not in ctx["header_macros"]]
        if ends:
            out.append("/* The macros of %s end here. */" % src.rel)
            out.extend("#undef %s%s" % (PRIVATE_PREFIX if name in
                                        src.renamed_macros else "", name)
                       for name in ends)


TOP_COMMENT = """\
/*
 * wsm {version} -- a sans-I/O WebSocket protocol engine (RFC 6455), as one
{sources}
 *
 * Usage
 *
 *   Include this file wherever you use wsm. In exactly one C file, define
 *   WSM_IMPLEMENTATION first, to compile the library there:
 *
 *     #define WSM_IMPLEMENTATION
 *     #include "wsm.h"
 *
 *   The declarations are C99 and C++; the implementation must be compiled
{features}
 *
 *   The generator gave every name of the implementation that is neither
 *   API nor already wsm_/WSM_ (static functions and tables, types, enum
 *   constants, macros) the prefix wsm_i_, so that it cannot clash with the
 *   names of the file that compiles it.
 *
 * Configuration, by macros defined before the include
 *
 *   WSM_IMPLEMENTATION     Compile the implementation in this file.
 *   WSM_STATIC             Give every function, the public ones too, static
 *                          linkage (WSM_API is then "static"), so that
 *                          nothing of wsm is visible outside the file. Every
 *                          file that includes wsm.h must then also define
 *                          WSM_IMPLEMENTATION: keep wsm to one C file.
 *   WSM_API                The linkage of public functions, yourself (for
 *                          example __declspec(dllexport)); wins over WSM_STATIC.
 *   WSM_ASSERT(x)          Hook for checks of internal invariants, for example
 *                          "#define WSM_ASSERT(x) assert(x)". Default: nothing
 *                          is checked and x is not evaluated.{no_asserts}
 *   WSM_NO_SIMD            Keep to portable scalar C: no SIMD intrinsics.{no_simd}
 *   WSM_NO_DEFAULT_RANDOM  Leave out the platform's random source (getrandom,
 *                          arc4random); a client then needs wsm_config.random.
 *
 * Licence
 *
{licence}
 */"""

NO_FEATURES = """\
 *   as C99 or later. It needs no feature-test macros: that file may
 *   include system headers, and this one, before it defines
 *   WSM_IMPLEMENTATION."""

FEATURES = """\
 *   as C99 or later, and it needs the feature-test macros
 *   {names}: that file must define
 *   WSM_IMPLEMENTATION before it includes any system header (or define
 *   those macros itself)."""


def wrap(text, prefix=" * ", width=77):
    lines, line = [], ""
    for word in text.split():
        if line and len(prefix) + len(line) + 1 + len(word) > width:
            lines.append(prefix + line)
            line = word
        else:
            line = (line + " " + word).strip()
    lines.append(prefix + line)
    return "\n".join(lines)


def top_comment(version, lic, files, features, has_assert, has_simd):
    later = "\n *                          (This version has none yet.)"
    return TOP_COMMENT.format(
        version=version,
        sources=wrap("header file. Generated by tools/amalgamate.py from "
                     "include/wsm.h, " + ", ".join(files) + "; do not edit "
                     "it: change those files and generate it again."),
        features=(FEATURES.format(names=", ".join(features)) if features
                  else NO_FEATURES),
        no_asserts="" if has_assert else later,
        no_simd="" if has_simd else later,
        licence="\n".join((" * " + line).rstrip() for line in lic))


STATIC_BLOCK = """\
#if defined(WSM_STATIC) && !defined(WSM_API)
#if defined(__GNUC__) || defined(__clang__)
#define WSM_API static __attribute__((unused))
#else
#define WSM_API static
#endif
#endif
"""

IMPL_BEGIN = """\
#if defined(WSM_IMPLEMENTATION) && !defined(WSM_IMPLEMENTATION_INCLUDED)
#define WSM_IMPLEMENTATION_INCLUDED
#ifdef __cplusplus
#error "wsm: compile the implementation (WSM_IMPLEMENTATION) as C, C99 or later"
#endif

/* Private fields are deprecated for users; the implementation uses them even
 * when this file was included before WSM_IMPLEMENTATION was defined. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
#ifndef WSM_ALLOW_PRIVATE_ACCESS
#define WSM_ALLOW_PRIVATE_ACCESS 1
#endif

/* What lib/ shares between its files is static here; a part this program
 * does not call draws no warning. */
#undef WSM_INTERNAL
#if defined(__GNUC__) || defined(__clang__)
#define WSM_INTERNAL static __attribute__((unused))
#else
#define WSM_INTERNAL static
#endif

#ifndef WSM_ASSERT
#define WSM_ASSERT(x) ((void)sizeof(!(x)))
#endif
"""

IMPL_END = """\
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif /* WSM_IMPLEMENTATION */
"""


def lib_files(root):
    lib = os.path.join(root, "lib")
    present = sorted(f for f in os.listdir(lib) if f.endswith(".c"))
    files = []
    for f in LIB_ORDER:
        if f in present:
            files.append(f)
        elif f not in OPTIONAL:
            warn("lib/%s is in LIB_ORDER but does not exist" % f)
    for f in present:
        if f not in LIB_ORDER:
            warn("lib/%s is not in LIB_ORDER; appended at the end" % f)
            files.append(f)
    return ["lib/" + f for f in files]


def generate(root, strict=False, verbose=False):
    public = Source(root, PUBLIC_HEADER)
    private = {}
    for f in sorted(os.listdir(os.path.join(root, "lib"))):
        if f.endswith(".h"):
            private[f] = Source(root, "lib/" + f)
    if os.path.basename(PRIVATE_HEADER) not in private:
        raise Error("%s not found" % PRIVATE_HEADER)
    for h in private.values():
        for n in h.names:
            if n.kind == "object" and n.internal:
                # "static extern" is no declaration; share a function instead.
                raise Error("%s:%d: WSM_INTERNAL data ('%s') cannot be made "
                            "static in the single header" % (h.rel, n.line,
                                                              n.name))
    sources = [Source(root, rel) for rel in lib_files(root)]

    declared = set(n.name for n in public.names)
    for h in private.values():
        declared.update(n.name for n in h.names)
    header_macros = set(public.left_defined)
    for h in private.values():
        header_macros |= set(h.left_defined)
    header_macros.add("WSM_ALLOW_PRIVATE_ACCESS")

    problems = 0
    for (space, name), where in find_clashes(sources):
        places = ", ".join("%s %s:%d" % ("static " + kind if static and kind
                                         in ("function", "object") else kind,
                                         rel, line)
                           for rel, line, kind, static in where)
        warn("name clash in the single header: %s'%s': %s"
             % ("struct/union/enum tag " if space == "tag" else "", name,
                places))
        problems += 1
    for rel, line, kind, name in find_leaks(sources, declared):
        warn("%s:%d: %s '%s' has external linkage but is declared in neither "
             "header" % (rel, line, kind, name))
        problems += 1
    for src in sources:
        for name in src.left_defined:
            if name in header_macros and name not in FEATURE_MACROS:
                warn("%s: redefines %s, a macro of the headers"
                     % (src.rel, name))
                problems += 1
    if problems and strict:
        raise Error("%d problem(s); see the warnings above" % problems)

    headers = list(private.values())
    names = private_names(public, headers, sources)
    header_renamed, live = set(), set()
    for h in headers:
        header_renamed |= h.renamed_macros
    for h in headers:
        h.out_text = rename(h, names, header_renamed, live)
    for src in sources:
        src.out_text = rename(src, names, header_renamed | src.renamed_macros,
                              set(live))
    macro_count = len(header_renamed.union(*[s.renamed_macros
                                             for s in sources]))

    features = []
    for src in list(private.values()) + sources:
        for name, value, line in src.features:
            warn("%s:%d: feature-test macro %s hoisted to the top of the "
                 "single header" % (src.rel, line, name))
            if name not in [f[0] for f in features]:
                features.append((name, value))

    version = re.search(r'#define\s+WSM_VERSION_STRING\s+"([^"]+)"',
                        public.text)
    version = version.group(1) if version else "(unknown version)"
    every_c = "\n".join(s.text for s in sources)
    every_lib = "\n".join([every_c] + [h.text for h in private.values()])

    out = ["/* SPDX-License-Identifier: MIT */"]
    out.append(top_comment(version, licence_text(root),
                       [PRIVATE_HEADER] + [s.rel for s in sources],
                       [f[0] for f in features],
                       "WSM_ASSERT" in every_c,
                       "WSM_NO_SIMD" in every_lib))
    if features:
        # Before the first system header, if this is the first include.
        out.append("#if defined(WSM_IMPLEMENTATION) && !defined(WSM_H)")
        for name, value in features:
            out.append("#ifndef %s" % name)
            out.append(("#define %s %s" % (name, value)).rstrip())
            out.append("#endif")
        out.append("#endif")
    out.append("")
    out.append(STATIC_BLOCK.rstrip("\n"))
    out.append("")
    ctx = {"private": private, "inlined": set(),
           "header_macros": header_macros}
    emit_source(public, out, ctx, "public")
    out.append("")
    out.append(IMPL_BEGIN.rstrip("\n"))
    for src in sources:
        out.append("")
        emit_source(src, out, ctx, "c")
    if os.path.basename(PRIVATE_HEADER) not in ctx["inlined"]:
        raise Error("no lib/*.c includes %s" % PRIVATE_HEADER)
    out.append("")
    out.append(IMPL_END.rstrip("\n"))
    if verbose:
        sys.stderr.write("%s: order: %s\n"
                         % (PROG, " ".join(s.rel for s in sources)))
        sys.stderr.write("%s: %d names and %d macros renamed to %s*\n"
                         % (PROG, len(names), macro_count, PRIVATE_PREFIX))
    return "\n".join(out) + "\n"


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(
        prog=PROG, description="Generate the single-header wsm.h.")
    ap.add_argument("--root", default=os.path.dirname(here),
                    help="the repository (default: the parent of tools/)")
    ap.add_argument("-o", "--output", default="-",
                    help="file to write (default: standard output)")
    ap.add_argument("--strict", action="store_true",
                    help="fail on name clashes and other warnings")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print the file order")
    args = ap.parse_args(argv)
    try:
        text = generate(os.path.abspath(args.root), args.strict, args.verbose)
    except (Error, OSError) as e:
        sys.stderr.write("%s: error: %s\n" % (PROG, e))
        return 1
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    if os.path.exists(args.output) and not os.path.isfile(args.output):
        # A device or a pipe (/dev/null, /dev/stdout): write into it, never
        # replace it.
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        return 0
    directory = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(directory, exist_ok=True)
    # Through a temporary file, so that a build never sees half a header.
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
