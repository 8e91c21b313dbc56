"""Create, list and revoke API keys.

python -m taskflow.manage_keys create TENANT [--name NAME]   prints the new key (shown only this once)
python -m taskflow.manage_keys list
python -m taskflow.manage_keys revoke ID_OR_PREFIX
"""

import argparse

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.login import process_login
from taskflow.services.api_keys import create_api_key, list_api_keys, revoke_api_key
from taskflow.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m taskflow.manage_keys", description="Manage API keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key for a tenant (the tenant is created if new)")
    create.add_argument("tenant")
    create.add_argument("--name", default="default")
    commands.add_parser("list", help="list keys")
    revoke = commands.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("id_or_prefix")
    args = parser.parse_args(argv)

    sessions = make_session_factory(make_engine(get_settings().database_url, pool_size=1, login=process_login()))
    with sessions() as session:
        if args.command == "create":
            api_key, key = create_api_key(session=session, tenant_name=args.tenant, key_name=args.name)
            print(f"created key {api_key.prefix}... ({api_key.id}) for tenant {args.tenant}; it is shown only once:")
            print(key)
        elif args.command == "list":
            for api_key, tenant in list_api_keys(session=session):
                state = f"revoked {api_key.revoked_at:%Y-%m-%d %H:%M}" if api_key.revoked_at else "active"
                print(f"{api_key.prefix}...  {api_key.id}  {tenant:<20} {api_key.name:<20} {state}")
        else:
            api_key = revoke_api_key(session=session, id_or_prefix=args.id_or_prefix)
            print(f"revoked {api_key.prefix}... ({api_key.id})")


if __name__ == "__main__":
    main()
