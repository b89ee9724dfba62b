"""Who may reach the product from outside: the LMS's API tokens, as staff manage them."""

from __future__ import annotations

from rest_framework.authtoken.models import TokenProxy


class ApiToken(TokenProxy):
    """An activity API token as the admin shows it.

    Its text is the owner and the key's first characters, never the whole key: that text ends
    up in page titles, breadcrumbs, the delete confirmation and the admin's history.
    """

    class Meta:
        proxy = True
        verbose_name = "LMS API token"
        verbose_name_plural = "LMS API tokens"

    def __str__(self) -> str:
        return f"{self.key[:4]}… ({self.user.get_username()})"

    @property
    def masked_key(self) -> str:
        return f"{self.key[:4]}…"
