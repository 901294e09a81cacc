"""API tokens that expire (API_TOKEN_TTL_SECONDS) and can be rotated.

DRF's tokens live forever: a token copied into a script or a log kept working until someone deleted
it. Here a token older than the TTL is refused with a 401 naming the way out (POST /api/auth/token/
again, which issues a new one), and POST /api/auth/token/rotate/ swaps a live token for a new one.
One token per user, as DRF's model has it: issuing a new one ends the old one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_expires_at(token: Token) -> datetime:
    return token.created + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS)


def token_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


def token_issue(*, user, rotate: bool = False) -> Token:
    """The user's live token, or a new one when there is none, it expired, or `rotate` is asked.

    The user row is locked, so two logins at once agree on one token.
    """
    with transaction.atomic():
        type(user).objects.select_for_update().filter(pk=user.pk).first()
        token = Token.objects.filter(user=user).first()
        if token is not None and not rotate and not token_expired(token):
            return token
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` while the token is younger than API_TOKEN_TTL_SECONDS."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed("This token has expired; POST /api/auth/token/ for a new one.")
        return user, token
