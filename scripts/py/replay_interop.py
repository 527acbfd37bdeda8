"""Helpers for toolkit/cli/tests/replay_interop.rs: `dirsnap replay` against scim2-server (PyPI).

Independent of dirsnap's Rust code on purpose: schemas, seeding, listing and the expected
outcome of a plan are computed here from scim2-server's own HTTP API and plan.json alone.

  schemas IIJ_SCHEMAS OUT_SCHEMAS OUT_RESOURCE_TYPES
      scim2-server's default schemas and resource types plus the IIJ ID extension schemas
      (toolkit/mock-scim/src/discovery/schemas.json), each declared as an extension of
      User or Group.
  seed BASE TOKEN SNAPSHOT
      POSTs an IID snapshot's users (their `raw` SCIM JSON) and groups with their members.
  list BASE TOKEN OUT
      GET /Users and /Groups (plain HTTP), written as JSON {"users": {id: res}, "groups": ...}.
  expect BEFORE PLAN_DIR AFTER
      Applies plan.json's actions to BEFORE (RFC 7644 PATCH semantics, hard delete) and
      compares with AFTER; prints every difference, exit 1 if any.
"""

import copy
import json
import os
import re
import sys
import urllib.error
import urllib.request


def schemas(iij_path, out_schemas, out_types):
    import scim2_server

    res = os.path.join(os.path.dirname(scim2_server.__file__), "resources")
    with open(os.path.join(res, "default-schemas.json"), encoding="utf-8") as f:
        all_schemas = json.load(f)
    with open(os.path.join(res, "default-resource-types.json"), encoding="utf-8") as f:
        types = json.load(f)
    with open(iij_path, encoding="utf-8") as f:
        iij = json.load(f)
    have = {s["id"] for s in all_schemas}
    all_schemas += [s for s in iij if s["id"] not in have]
    for rt in types:
        exts = rt.setdefault("schemaExtensions", [])
        known = {e["schema"] for e in exts}
        for s in iij:
            sid = s["id"]
            if ":core:" in sid or sid.endswith(":User") != rt["schema"].endswith(":User"):
                continue
            if sid not in known:
                exts.append({"schema": sid, "required": False})
                known.add(sid)
    with open(out_schemas, "w", encoding="utf-8") as f:
        json.dump(all_schemas, f, ensure_ascii=False)
    with open(out_types, "w", encoding="utf-8") as f:
        json.dump(types, f, ensure_ascii=False)


def request(base, token, method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def seed(base, token, snap):
    import pyarrow.parquet as pq

    ids = {}
    for u in pq.read_table(snap + "/users.parquet").to_pylist():
        if u["pending_deletion"]:
            continue
        body = json.loads(u["raw"])
        old = body.pop("id")
        body.pop("meta", None)
        status, r = request(base, token, "POST", "Users", body)
        if status != 201:
            sys.exit(f"seeding user {u['user_name']}: {status} {r}")
        ids[old] = r["id"]
    members = {}
    for m in pq.read_table(snap + "/memberships.parquet").to_pylist():
        members.setdefault(m["group_key"], []).append(m["member_key"])
    for g in pq.read_table(snap + "/groups.parquet").to_pylist():
        body = json.loads(g["raw"])
        old = body.pop("id")
        body.pop("meta", None)
        body["members"] = [{"value": ids[k]} for k in members.get(old, []) if k in ids]
        status, r = request(base, token, "POST", "Groups", body)
        if status != 201:
            sys.exit(f"seeding group {g['display_name']}: {status} {r}")
        ids[old] = r["id"]
    print(len(ids))


def list_state(base, token, out):
    state = {}
    for kind, path in (("users", "Users"), ("groups", "Groups")):
        status, r = request(base, token, "GET", path + "?count=1000")
        if status != 200:
            sys.exit(f"GET {path}: {status} {r}")
        if r["totalResults"] != len(r["Resources"]):
            sys.exit(f"GET {path}: paged ({r['totalResults']} results)")
        state[kind] = {res["id"]: res for res in r["Resources"]}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False, indent=1, sort_keys=True)


def split_path(path):
    """`urn:...:User:department` → ["urn:...:User", "department"]; `name.givenName` → parts."""
    m = re.match(r"^(urn:.*):([^:]+)$", path)
    if m:
        return [m.group(1)] + m.group(2).split(".")
    return path.split(".")


def apply_op(res, op, resolve):
    kind = op["op"].lower()
    path = op.get("path")
    value = resolve(op.get("value"))
    if path is None:
        for k, v in value.items():
            res[k] = v
        return
    m = re.match(r'^members\[value eq "(.*)"\]$', path)
    if m:
        assert kind == "remove", op
        gone = resolve(m.group(1))
        res["members"] = [x for x in res.get("members", []) if x["value"] != gone]
        return
    if path == "members":
        if kind == "add":
            have = {x["value"] for x in res.get("members", [])}
            res.setdefault("members", []).extend(v for v in value if v["value"] not in have)
        elif kind == "replace":
            res["members"] = value
        else:
            res["members"] = []
        return
    parts = split_path(path)
    node = res
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    if kind == "remove":
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def normal(res):
    """What is compared: no server metadata; empty values and unset extensions are absent
    (scim2-server drops them, IIJ ID returns [] and {}: see docs/replay.md, interop)."""
    out = {}
    for k, v in res.items():
        if k in ("meta", "id", "schemas"):
            continue
        if k == "members":
            v = sorted(x["value"] for x in v)
        elif isinstance(v, dict):
            v = {a: b for a, b in v.items() if b not in ([], {}, None)}
        if v in ([], {}, None):
            continue
        out[k] = v
    return out


def expect(before_path, plan_dir, after_path):
    with open(before_path, encoding="utf-8") as f:
        before = json.load(f)
    with open(after_path, encoding="utf-8") as f:
        after = json.load(f)
    with open(os.path.join(plan_dir, "plan.json"), encoding="utf-8") as f:
        plan = json.load(f)
    exp = copy.deepcopy(before)
    created = {}

    def resolve(v):
        if isinstance(v, str):
            return re.sub(r"action:(\d+)", lambda m: created.get(int(m.group(1)), m.group(0)), v)
        if isinstance(v, list):
            return [resolve(x) for x in v]
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        return v

    problems = []
    for a in sorted(plan["actions"], key=lambda a: a["seq"]):
        kind = "users" if a["resource"] == "user" else "groups"
        if a["op"] in ("create_user", "create_group"):
            key, name = ("userName", a["userName"]) if kind == "users" else ("displayName", a["displayName"])
            found = [i for i, r in after[kind].items() if r.get(key) == name and i not in before[kind]]
            if len(found) != 1:
                problems.append(f"action {a['seq']} {a['op']} {name}: {len(found)} new objects with that {key}")
                continue
            created[a["seq"]] = found[0]
            exp[kind][found[0]] = resolve(a["body"])
            continue
        target = a.get("target") or created.get(a.get("target_action"))
        if target not in exp[kind]:
            problems.append(f"action {a['seq']} {a['op']}: target {target} unknown")
            continue
        if a["request"]["method"].upper() == "DELETE":
            # scim2-server deletes for good (RFC 7644 §3.6); IIJ ID keeps the user pending deletion.
            del exp[kind][target]
            continue
        for op in a.get("operations", []):
            apply_op(exp[kind][target], op, resolve)
    for kind in ("users", "groups"):
        for i in sorted(set(exp[kind]) | set(after[kind])):
            e, g = exp[kind].get(i), after[kind].get(i)
            if e is None or g is None:
                problems.append(f"{kind} {i}: expected {'absent' if e is None else 'present'}, found {'absent' if g is None else 'present'}")
            elif normal(e) != normal(g):
                problems.append(
                    f"{kind} {i}:\n  expected {json.dumps(normal(e), ensure_ascii=False, sort_keys=True)}\n"
                    f"  found    {json.dumps(normal(g), ensure_ascii=False, sort_keys=True)}"
                )
    for p in problems:
        print(p)
    print(f"compared {len(after['users'])} users, {len(after['groups'])} groups, "
          f"{len(plan['actions'])} actions, {len(problems)} difference(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"schemas": schemas, "seed": seed, "list": list_state, "expect": expect}[cmd](*args)
