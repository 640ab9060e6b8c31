"""Per-user API tokens: only the sha256 of a token is stored; the raw token is shown once, at creation."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often
TOKEN_PREFIX = "hko_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token acting as its user (same permissions as in the admin); revocable, never stored raw."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for, e.g. 'league site'.")
    prefix = models.CharField(max_length=12, editable=False, db_index=True,
                              help_text="First characters of the token, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        app_label = "jobs"
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def set_new_key(self) -> str:
        """Give the token a fresh random key and return it (the only time it is available in clear)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.key_hash = hash_token(raw)
        self.prefix = raw[:12]
        return raw

    @classmethod
    def issue(cls, user, name: str = "") -> tuple[ApiToken, str]:
        """Create a token for ``user``; returns it with its raw key."""
        token = cls(user=user, name=name)
        raw = token.set_new_key()
        token.save()
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> ApiToken | None:
        """The live token for ``raw`` (its user active), recording the use; None otherwise."""
        if not raw:
            return None
        token = cls.objects.select_related("user").filter(key_hash=hash_token(raw), revoked_at=None).first()
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            cls.objects.filter(pk=token.pk).update(last_used_at=now)  # once a minute is enough to audit use
            token.last_used_at = now
        return token

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiToken.objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=self.revoked_at)
