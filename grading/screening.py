"""Read the student's code before autograde runs it, and name what reaches into the grader.

nbgrader runs the hidden tests in the kernel that has just run the student's cells, so a few lines
there could decide what the tests report (an IPython hook that swallows their errors, a replaced
``torch.allclose``, a rebound ``math``). ``findings(code, protected)`` parses one cell with Python's
``ast`` (after IPython's own transformation of magics and ``!`` commands) and returns one line per
construct found, such as ``get_ipython (line 3)``. ``grading.rebuild.ScreenStudentCode`` gives a
submission with any finding 0 autograded points and "needs review" for an instructor to decide.

What counts (each chosen because a test could be forged with it, and not used by the lab's recipe):
- the shell: ``get_ipython``, magics other than ``%matplotlib`` and ``%time`` (whose code is read
  too), ``!`` commands;
- reflection and code made at run time: the builtins ``exec``, ``eval``, ``compile``, ``__import__``,
  ``globals``, ``locals``, ``vars``, ``breakpoint``; ``getattr`` with a computed name, ``setattr`` and
  ``delattr`` on anything but ``self``; frames (``f_back``, ``tb_frame``, ``sys._getframe``...),
  dunder attributes other than the everyday ones, private attributes of anything but ``self``;
- modules made for that, or for leaving the process: ``ast``, ``importlib``, ``builtins``, ``sys``,
  ``inspect``, ``gc``, ``atexit``, ``signal``, ``ctypes``, ``IPython``, threads and processes;
  ``os._exit``, ``os.kill``, ``os.system`` and relatives;
- changing what others use: assigning or deleting an attribute of anything but ``self`` (``torch.x =``,
  ``helpers.integrity.x =``), and rebinding a name that the course's cells rely on (``protected``,
  from :func:`protected_names`), other than by the same import.
"""
import ast
import symtable

from IPython.core.inputtransformer2 import TransformerManager

CALLS = {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "breakpoint"}
MODULES = {"ast", "importlib", "builtins", "sys", "inspect", "gc", "atexit", "signal", "ctypes", "IPython",
           "ipykernel", "threading", "_thread", "multiprocessing", "concurrent", "subprocess", "code", "codeop",
           "runpy", "marshal", "pickle", "types", "faulthandler", "pty", "operator", "functools"}
ATTRIBUTES = {"_getframe", "_exit", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next",
              "gi_frame", "cr_frame", "ag_frame", "kill", "killpg", "abort", "fork", "forkpty", "system", "popen",
              "settrace", "setprofile", "excepthook", "displayhook", "get_ipython"}
ATTRIBUTE_PREFIXES = ("exec", "spawn", "posix_spawn")
EVERYDAY_DUNDERS = {"__init__", "__name__", "__class__", "__doc__", "__len__", "__call__", "__repr__", "__str__"}
SAFE_MAGICS = {"matplotlib", "time"}  # %time and %%time run the code they are given: it is read too


def _dotted(node):
    """``a.b.c`` for an Attribute/Name chain, the root last: ("a.b.c", root node)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    root = node.id if isinstance(node, ast.Name) else "(...)"
    return ".".join([root] + parts[::-1]), node


def _is_self(node):
    return isinstance(node, ast.Name) and node.id == "self"


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


def _magic(node):
    """(kind, name, code) for ``get_ipython().run_line_magic('name', 'code')`` and its cell variant."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic") and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name) and node.func.value.func.id == "get_ipython"
            and node.args and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
        values = [a.value for a in node.args]
        return node.func.attr, values[0], values[-1] if len(values) > 1 else ""
    return None


def _bound_names(statement):
    """Names a top-level statement binds in the notebook's namespace, with the import that binds each
    (None when it is not an import)."""
    bound = {}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            name = alias.asname or alias.name.split(".")[0]
            bound[name] = ast.dump(ast.Import(names=[alias]) if isinstance(statement, ast.Import)
                                   else ast.ImportFrom(module=statement.module, names=[alias], level=statement.level))
        return bound
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name: None}
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound[node.id] = None
        elif isinstance(node, ast.Global):
            bound.update(dict.fromkeys(node.names))
    return bound


def _reads(statement):
    """Names a top-level statement reads from the notebook's namespace (functions' own locals and the
    targets of its own for and with statements left out)."""
    names = set()

    def visit(table, top):
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                names.add(symbol.get_name())
        for child in table.get_children():
            visit(child, False)

    visit(symtable.symtable(ast.unparse(statement), "<cell>", "exec"), True)
    if isinstance(statement, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
        targets = [statement.target] if isinstance(statement, (ast.For, ast.AsyncFor)) else \
            [item.optional_vars for item in statement.items if item.optional_vars]
        names -= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _reads_and_binds(code):
    """(names the cell reads before binding them itself, {name: import or None} it binds at top level)."""
    tree = _parse(code)
    if tree is None:
        return set(), {}
    reads, binds = set(), {}
    for statement in tree.body:
        reads.update(_reads(statement) - set(binds))
        binds.update(_bound_names(statement))
    return reads, binds


def protected_names(cells):
    """For a notebook's code cells in order, ``[(is_course_cell, code), ...]``: for each student cell (by
    position), the names it must not rebind, {name: the course's import of it, or None}: a name that a
    course cell before it binds and a course cell after it reads, with no course cell rebinding it between
    (where the student's binding would be the one the grader's code uses)."""
    info = [(is_course, *_reads_and_binds(code)) if is_course else (False, set(), {}) for is_course, code in cells]
    protected, course_bound = {}, {}
    for position, (is_course, _, binds) in enumerate(info):
        if is_course:
            course_bound.update(binds)
            continue
        names, rebound = {}, set()
        for later_course, reads, later_binds in info[position + 1:]:
            if later_course:
                names.update({name: course_bound[name] for name in reads if name in course_bound and name not in rebound})
                rebound.update(later_binds)
        protected[position] = names
    return protected


def _parse(code):
    try:
        return ast.parse(TransformerManager().transform_cell(code))
    except (SyntaxError, ValueError):
        return None  # it fails in the kernel too, as an error in that cell


def findings(code, protected=None):
    """What ``code`` (one cell) does that reaches into the grader: a list of "<construct> (line N)"."""
    tree = _parse(code)
    if tree is None:
        return []
    protected = protected or {}
    found = set()  # (line, construct)

    def flag(what, node):
        found.add((node.lineno, what))

    allowed_calls = set()  # nodes that are fine as a whole: setattr(self, ...), getattr(x, "name"), safe magics
    for node in ast.walk(tree):
        magic = _magic(node)
        if magic:
            kind, name, inner = magic
            if name in SAFE_MAGICS:
                allowed_calls.add(id(node.func.value.func))
                found.update((node.lineno, f"{what.rsplit(' (line', 1)[0]} in %{name}") for what in findings(inner, protected))
            else:
                flag(f"IPython magic %{'%' if kind == 'run_cell_magic' else ''}{name}", node)
                allowed_calls.add(id(node.func.value.func))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if node.func.id in ("setattr", "delattr") and args and _is_self(args[0]):
                allowed_calls.add(id(node.func))
            elif (node.func.id == "getattr" and len(args) >= 2 and isinstance(args[1], ast.Constant)
                  and isinstance(args[1].value, str) and not _is_dunder(args[1].value)
                  and not args[1].value.startswith("_") and args[1].value not in ATTRIBUTES):
                allowed_calls.add(id(node.func))

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id == "get_ipython" and id(node) not in allowed_calls:
                flag("get_ipython", node)
            elif node.id in CALLS and isinstance(node.ctx, ast.Load):
                flag(f"{node.id}()", node)
            elif node.id in ("getattr", "setattr", "delattr") and id(node) not in allowed_calls:
                flag(f"{node.id}() on something other than self" if node.id != "getattr" else
                     "getattr() with a computed or private name", node)
            elif _is_dunder(node.id) and node.id not in EVERYDAY_DUNDERS:
                flag(node.id, node)
        elif isinstance(node, ast.Attribute):
            name, root = _dotted(node)
            if node.attr in ATTRIBUTES or node.attr.startswith(ATTRIBUTE_PREFIXES):
                flag(name, node)
            elif _is_dunder(node.attr):
                if node.attr not in EVERYDAY_DUNDERS:
                    flag(name, node)
            elif node.attr.startswith("_") and not _is_self(root):
                flag(f"private attribute {name}", node)
            if isinstance(node.ctx, (ast.Store, ast.Del)) and not _is_self(root):
                flag(f"{'assigns' if isinstance(node.ctx, ast.Store) else 'deletes'} {name}", node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in MODULES:
                    flag(f"import {module}", node)

    for statement in tree.body:
        for name, import_ in _bound_names(statement).items():
            if name in protected and (import_ is None or import_ != protected[name]):
                flag(f"rebinds {name}, which the course's cells use", statement)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                if name in protected:
                    flag(f"global {name}, which the course's cells use", node)
    return [f"{what} (line {line})" for line, what in sorted(found)]

