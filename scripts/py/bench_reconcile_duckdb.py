"""Baseline for scripts/bench-reconcile: DuckDB computes the equivalent full-outer-join diff
of the same AD and IIJ ID Parquet files (users by externalId = userPrincipalName with the
mapped attributes compared, groups by name, memberships by (group name, userName)) and
writes the differing rows to Parquet, as a plan would. Prints one JSON line."""
import json
import os
import sys
import time

import duckdb

data, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
ad = lambda t: f"read_parquet('{data}/ad/{t}.parquet')"
iid = lambda t: f"read_parquet('{data}/iid/{t}.parquet')"

t0 = time.perf_counter()
con = duckdb.connect()
con.execute(f"SET threads TO {os.cpu_count() or 2}")
users = f"""
COPY (
  SELECT
    coalesce(a.object_guid, i.id) AS key,
    CASE WHEN i.id IS NULL THEN 'create_user'
         WHEN a.object_guid IS NULL THEN 'pending_delete_user'
         WHEN a.enabled AND NOT i.active THEN 'enable_user'
         WHEN NOT a.enabled AND i.active THEN 'disable_user'
         ELSE 'update_user' END AS op,
    a.user_principal_name, i.id AS target,
    a.title AS new_title, i.title AS old_title
  FROM {ad('users')} a FULL OUTER JOIN {iid('users')} i ON a.user_principal_name = i.external_id
  WHERE i.id IS NULL OR a.object_guid IS NULL
     OR a.enabled <> i.active
     OR a.user_principal_name IS DISTINCT FROM i.user_name
     OR to_base64(coalesce(a.consistency_guid_bin, a.object_guid_bin)) IS DISTINCT FROM i.downstream_id
     OR a.display_name IS DISTINCT FROM i.display_name
     OR a.sn IS DISTINCT FROM i.family_name
     OR a.given_name IS DISTINCT FROM i.given_name
     OR a.mail IS DISTINCT FROM i.email
     OR a.title IS DISTINCT FROM i.title
     OR a.department IS DISTINCT FROM i.department
) TO '{out}/users_diff.parquet' (FORMAT parquet)
"""
groups = f"""
COPY (
  SELECT coalesce(g.object_guid, i.id) AS key,
         CASE WHEN i.id IS NULL THEN 'create_group' ELSE 'delete_group' END AS op,
         coalesce(g.cn, i.display_name) AS name
  FROM {ad('groups')} g FULL OUTER JOIN {iid('groups')} i ON g.cn = i.display_name
  WHERE i.id IS NULL OR g.object_guid IS NULL
) TO '{out}/groups_diff.parquet' (FORMAT parquet)
"""
members = f"""
COPY (
  WITH a AS (
    SELECT g.cn AS grp, u.user_principal_name AS upn
    FROM {ad('memberships')} m
    JOIN {ad('groups')} g ON m.group_key = g.object_guid
    JOIN {ad('users')} u ON m.member_key = u.object_guid
    WHERE m.member_kind = 'user'),
  b AS (
    SELECT g.display_name AS grp, u.external_id AS upn
    FROM {iid('memberships')} m
    JOIN {iid('groups')} g ON m.group_key = g.id
    JOIN {iid('users')} u ON m.member_key = u.id)
  SELECT coalesce(a.grp, b.grp) AS grp, coalesce(a.upn, b.upn) AS upn,
         CASE WHEN b.grp IS NULL THEN 'add' ELSE 'remove' END AS op
  FROM a FULL OUTER JOIN b ON a.grp = b.grp AND a.upn = b.upn
  WHERE a.grp IS NULL OR b.grp IS NULL
) TO '{out}/members_diff.parquet' (FORMAT parquet)
"""
for q in (users, groups, members):
    con.execute(q)
wall = time.perf_counter() - t0

counts = {}
for name in ("users", "groups", "members"):
    for op, n in con.execute(
        f"SELECT op, count(*) FROM read_parquet('{out}/{name}_diff.parquet') GROUP BY op"
    ).fetchall():
        counts[f"{name}.{op}"] = n
print(json.dumps({"wall_s": wall, "counts": counts}))
