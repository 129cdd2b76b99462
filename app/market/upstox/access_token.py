"""Where the Upstox access token comes from: the setting itself, or a file read again on every use.

A token file lets `signaldesk upstox login` (or any script) renew the token without a restart:
the feed reads it before every authorize, so after a reconnect or a 401 the new token is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.market.upstox.errors import TokenUnavailable

if TYPE_CHECKING:
    from app.core.config import Settings

TOKEN_VARIABLE = "SIGNALDESK_UPSTOX_ACCESS_TOKEN"
FILE_VARIABLE = "SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE"


class AccessToken:
    """The token of `value`, or the first line of `path` as it is now (exactly one of them)."""

    def __init__(self, *, value: str | None = None, path: Path | None = None) -> None:
        if (value is None) == (path is None):
            raise ValueError(f"give {TOKEN_VARIABLE} or {FILE_VARIABLE}, exactly one")
        self.value = value
        self.path = path

    @classmethod
    def of_settings(cls, settings: Settings) -> AccessToken:
        """The token SIGNALDESK_UPSTOX_ACCESS_TOKEN(_FILE) names; TokenUnavailable unless exactly one is set."""
        secret, path = settings.upstox_access_token, settings.upstox_access_token_file
        if (secret is None) == (path is None):
            raise TokenUnavailable(
                TOKEN_VARIABLE, f"set it or {FILE_VARIABLE}, exactly one" + (" (both are set)" if path else "")
            )
        return cls(value=secret.get_secret_value() if secret is not None else None, path=path)

    @property
    def variable(self) -> str:
        """The setting this token comes from (named in errors)."""
        return FILE_VARIABLE if self.path is not None else TOKEN_VARIABLE

    def read(self) -> str:
        if self.path is None:
            assert self.value is not None
            token = self.value.strip()
        else:
            try:
                token = self.path.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise TokenUnavailable(FILE_VARIABLE, f"cannot read {self.path}: {e.strerror or e}") from e
            except UnicodeDecodeError as e:
                raise TokenUnavailable(FILE_VARIABLE, f"{self.path} is not UTF-8 text") from e
        if not token:
            raise TokenUnavailable(self.variable, "the token is empty")
        if any(c.isspace() for c in token):
            raise TokenUnavailable(self.variable, "the token contains spaces or more than one line")
        return token
