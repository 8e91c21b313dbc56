"""API keys: created for a tenant, shown once, stored only as a hash, revocable.

Keys are 256 random bits, so a plain SHA-256 of the key is enough to make a stolen table useless
(slow password hashes exist for low-entropy human passwords, not for keys like these).
"""

import hashlib
import re
import secrets
import uuid

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import ApiKey, Tenant
from taskflow.domain.errors import TaskflowError

KEY_PREFIX = "tf_"
KEY_BYTES = 32
# What create_api_key makes: the prefix and KEY_BYTES random bytes in URL-safe base64 (43 characters).
KEY_FORMAT = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{43}}")


class ApiKeyNotFound(TaskflowError):
    """No key has that id or prefix."""


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, session: Session, tenant_name: str, key_name: str) -> tuple[ApiKey, str]:
    """Create a key for the tenant (creating the tenant on first use); return the row and the key itself."""
    # Two first keys of one new tenant at once: the second insert waits on the name's unique index, does nothing,
    # and the select then reads the first one's committed tenant.
    new_tenant = insert(Tenant).values(id=uuid.uuid4(), name=tenant_name).on_conflict_do_nothing()
    tenant_id = session.scalar(new_tenant.returning(Tenant.id)) or session.scalar(
        select(Tenant.id).where(Tenant.name == tenant_name)
    )
    key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    api_key = ApiKey(tenant_id=tenant_id, name=key_name, prefix=key[:12], key_hash=hash_key(key))
    session.add(api_key)
    session.commit()
    return api_key, key


def list_api_keys(*, session: Session) -> list[tuple[ApiKey, str]]:
    """Every key with its tenant's name, newest first."""
    rows = session.execute(
        select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id).order_by(ApiKey.created_at.desc())
    )
    return [(api_key, tenant_name) for api_key, tenant_name in rows]


def revoke_api_key(*, session: Session, id_or_prefix: str) -> ApiKey:
    """Revoke the key with this id or prefix; it stops working within the API's key cache lifetime."""
    try:
        by_id = ApiKey.id == uuid.UUID(id_or_prefix)
    except ValueError:
        by_id = False
    api_key = session.scalar(select(ApiKey).where(or_(by_id, ApiKey.prefix == id_or_prefix)))
    if api_key is None:
        raise ApiKeyNotFound(f"no API key has id or prefix {id_or_prefix!r}")
    api_key.revoked_at = api_key.revoked_at or utc_now()
    session.commit()
    return api_key


def looks_like_a_key(candidate: str) -> bool:
    """Whether `candidate` has the form of a key this system issues (anything else needs no lookup)."""
    return KEY_FORMAT.fullmatch(candidate) is not None


def tenant_of_key(session: Session, key: str) -> uuid.UUID | None:
    """The tenant an unrevoked key belongs to; None for an unknown or revoked key."""
    return session.scalar(
        select(ApiKey.tenant_id).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    )
