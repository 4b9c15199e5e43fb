"""The course's gradebook: where it is (sqlite, or PostgreSQL through GRADEBOOK_URL), and copying one to another.

Usage (from the course root):
  .venv/bin/python -m grading.gradebook copy [--root COURSE] [--from URL] [--to URL]
    (`make gradebook-to-postgres [COURSE=demo]`: the course's gradebook.db into $GRADEBOOK_URL, e.g. `make postgres`'s)

The copy takes every row of every table of nbgrader's gradebook (courses, assignments, notebooks, cells, students,
submissions, grades with their autograded and manual scores, comments, late penalties) and of the rubric tables
beside them (grading/by_question/rubric.py) as it is, ids included, in one transaction: into an empty gradebook
only (a target that already holds students or submissions is refused), and only from a gradebook of this
nbgrader's schema (`nbgrader db upgrade` brings an old one up to it).
`grading.batch` also uses it to back a PostgreSQL gradebook up into a sqlite file before a batch.
"""
import argparse
import os
import sys
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa
from nbgrader.api import Base, get_alembic_version
from traitlets.config.loader import PyFileConfigLoader

from .by_question import rubric

BIN = Path(sys.executable).parent
ALEMBIC_VERSION = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), nullable=False))
TABLES = [*Base.metadata.sorted_tables, *rubric.Base.metadata.sorted_tables]  # parents before the rows that refer to them


def gradebook_url(root: Path) -> str:
    """The gradebook URL that nbgrader uses in the course ``root`` (its nbgrader_config.py: GRADEBOOK_URL, else
    the course's gradebook.db)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return config.CourseDirectory.db_url


def is_sqlite(url: str) -> bool:
    return sa.engine.make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path:
    return Path(sa.engine.make_url(url).database)


def venv_path() -> str:
    """PATH with this environment's programs first: nbgrader runs helper programs (alembic, jupyter) by name."""
    return f"{BIN}{os.pathsep}{os.environ['PATH']}"


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    return unquote(sa.engine.make_url(url).render_as_string(hide_password=True))


def table_rows(connection, table) -> list:
    """Every row of ``table``, sorted, as tuples (what a copy must keep)."""
    return sorted((tuple(row) for row in connection.execute(table.select())), key=repr)


class CopyRefusedError(RuntimeError):
    """The copy would lose or mix grades: nothing was written."""


def copy_gradebook(source_url: str, target_url: str) -> dict:
    """Copy every row of the gradebook at ``source_url`` into the empty one at ``target_url`` (created when missing):
    {table: rows copied}."""
    os.environ["PATH"] = venv_path()  # nbgrader finds its schema version with alembic
    source, target = sa.create_engine(source_url), sa.create_engine(target_url)
    try:
        with source.connect() as reading, target.begin() as writing:
            if not sa.inspect(reading).has_table("alembic_version"):
                raise CopyRefusedError(f"{shown(source_url)} is not an nbgrader gradebook")
            version, current = reading.execute(ALEMBIC_VERSION.select()).scalar(), get_alembic_version()
            if version != current:
                raise CopyRefusedError(f"{shown(source_url)} has nbgrader's schema {version}, this nbgrader's is "
                                       f"{current}: run `nbgrader db upgrade` in its course first")
            Base.metadata.create_all(writing)
            rubric.Base.metadata.create_all(writing)
            ALEMBIC_VERSION.create(writing, checkfirst=True)
            occupied = [table.name for table in TABLES
                        if writing.execute(sa.select(sa.func.count()).select_from(table)).scalar()]
            if occupied:
                raise CopyRefusedError(f"{shown(target_url)} already holds a gradebook ({', '.join(occupied)}): "
                                       "copy only into an empty database")
            writing.execute(ALEMBIC_VERSION.delete())
            writing.execute(ALEMBIC_VERSION.insert(), {"version_num": version})
            copied = {}
            present = set(sa.inspect(reading).get_table_names())
            for table in TABLES:
                rows = [row._asdict() for row in reading.execute(table.select())] if table.name in present else []
                if rows:
                    writing.execute(table.insert(), rows)
                copied[table.name] = len(rows)
            if writing.dialect.name == "postgresql":  # the rubric's numbered ids go on after the copied ones
                for name in ("rubric_question", "rubric_item"):
                    writing.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                            f"COALESCE(MAX(id), 0) + 1, false) FROM {name}"))
            return copied
    finally:
        source.dispose()
        target.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Copy an nbgrader gradebook into an empty one (sqlite -> PostgreSQL).")
    sub = parser.add_subparsers(dest="command", required=True)
    copy = sub.add_parser("copy", help="copy every row into an empty gradebook")
    copy.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: here)")
    copy.add_argument("--from", dest="source", help="the gradebook to copy (default: the course's gradebook.db)")
    copy.add_argument("--to", dest="target", default=os.environ.get("GRADEBOOK_URL"),
                      help="the empty gradebook to fill (default: $GRADEBOOK_URL)")
    args = parser.parse_args(argv)
    source = args.source or f"sqlite:///{args.root.resolve() / 'gradebook.db'}"
    if not args.target:
        print("no target: set GRADEBOOK_URL (`make postgres` prints it) or give --to URL", file=sys.stderr)
        return 1
    if is_sqlite(source) and not sqlite_file(source).is_file():
        print(f"no gradebook at {shown(source)}", file=sys.stderr)
        return 1
    try:
        copied = copy_gradebook(source, args.target)
    except (CopyRefusedError, sa.exc.SQLAlchemyError) as err:
        print(f"nothing copied: {err}", file=sys.stderr)
        return 1
    print(f"copied {shown(source)} into {shown(args.target)}: "
          + ", ".join(f"{n} {table}" for table, n in copied.items() if n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
