"""Independent check of dirsnap snapshots: pyarrow and DuckDB read every data file and must
see exactly the columns, types and row counts docs/snapshot-format.md documents and the
manifest records. Usage: check_snapshot.py DOCS SNAP [SNAP ...]. Exit 1 on any mismatch."""
import json
import re
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def doc_tables(path):
    """{(kind, file): [(column, type)]} parsed from the Markdown tables."""
    tables, current = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^### (\w+(?: \w+)?):? `(\w+\.parquet)`", line)
        if m:
            kind = "*" if m.group(1).startswith("every") else m.group(1)
            current = tables.setdefault((kind, m.group(2)), [])
            continue
        m = re.match(r"^\| `([^`]+)` \| `([^`]+)` \|", line)
        if m and current is not None:
            current.append((m.group(1), m.group(2)))
        elif line.startswith("#"):
            current = None
    return tables


def doc_type(field):
    t = field.type
    if pa.types.is_string(t):
        s = "string"
    elif pa.types.is_boolean(t):
        s = "bool"
    elif pa.types.is_fixed_size_binary(t):
        s = f"fixed_size_binary[{t.byte_width}]"
    elif pa.types.is_binary(t):
        s = "binary"
    elif pa.types.is_timestamp(t):
        s = f"timestamp[{t.unit}, {t.tz}]"
    elif pa.types.is_list(t) and pa.types.is_string(t.value_type):
        s = "list<string>"
    else:
        s = str(t)
    return s + ("?" if field.nullable else "")


def main():
    docs, snaps = sys.argv[1], sys.argv[2:]
    tables = doc_tables(docs)
    failures, checked = [], 0
    con = duckdb.connect()
    for snap in snaps:
        manifest = json.load(open(f"{snap}/manifest.json", encoding="utf-8"))
        kind = manifest["kind"]
        for name in ("users.parquet", "groups.parquet", "memberships.parquet"):
            path = f"{snap}/{name}"
            expected = tables.get((kind, name)) or tables.get(("*", name))
            if not expected:
                failures.append(f"{path}: docs have no table for {kind} {name}")
                continue
            table = pq.read_table(path)
            got = [(f.name, doc_type(f)) for f in table.schema]
            if got != expected:
                failures.append(f"{path}: pyarrow sees columns {got}, docs say {expected}")
            rows = manifest["files"][name]["rows"]
            if table.num_rows != rows:
                failures.append(f"{path}: pyarrow reads {table.num_rows} rows, manifest says {rows}")
            duck_rows = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
            duck_cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
            if duck_rows != rows:
                failures.append(f"{path}: DuckDB reads {duck_rows} rows, manifest says {rows}")
            if duck_cols != [c for c, _ in expected]:
                failures.append(f"{path}: DuckDB sees columns {duck_cols}")
            checked += 1
    for f in failures:
        print("FAIL", f)
    print(f"checked {checked} files of {len(snaps)} snapshots: {len(failures)} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
