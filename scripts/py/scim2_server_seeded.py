"""Run scim2-server (the PyPI reference SCIM server) pre-loaded with resources, for
scripts/bench-mock-scim.

scim2-server has no seed option and POSTing 100,000 users would take longer than the
benchmark itself, so this builds the same application its `scim2-server` command builds
(default schemas, resource types and service provider config, a bearer token, the threaded
WSGI server) and fills its in-memory storage directly. Requests are then served by
scim2-server's own code paths, unchanged.

usage: scim2_server_seeded.py --port PORT --token TOKEN --users users.jsonl
"""

import argparse
import datetime
import json
import os
import secrets
import sys
from wsgiref.simple_server import make_server

from scim2_models import Meta
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import load_default_resource_types
from scim2_server.utils import load_default_schemas
from scim2_server.utils import load_default_service_provider_config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--users", required=True, help="JSON lines, one SCIM User per line")
    args = parser.parse_args()

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    user_type = next(rt for rt in provider.resource_types if rt.name == "User")
    model = provider.model_for(user_type)

    now = datetime.datetime.now(datetime.UTC)
    resources = []
    with open(args.users, encoding="utf-8") as f:
        for line in f:
            data = json.loads(line)
            data.pop("meta", None)
            user = model.model_validate(data)
            user.meta = Meta(resource_type="User", created=now, last_modified=now, version='W/"1"')
            resources.append(user)
    storage = InMemoryStorage()
    storage.resources = resources

    service = ScimService(provider, secret=os.environ.get("SCIM2_SERVER_SECRET") or secrets.token_urlsafe(32))
    app = BearerTokenApplication(storage, provider, service=service, bearer_tokens=[args.token])
    with make_server("127.0.0.1", args.port, app, server_class=ThreadingWSGIServer) as server:
        print(f"ready {len(resources)}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    sys.exit(main())
