"""Admin for API tokens: the raw token is shown once, in a message, when the token is created."""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from jobs.api_tokens import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix_display", "name", "user", "created_at", "last_used_at", "revoked_display")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="Token", ordering="prefix")
    def prefix_display(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    @admin.display(description="Revoked", boolean=True)
    def revoked_display(self, token: ApiToken) -> bool:
        return token.revoked

    def get_readonly_fields(self, request, obj=None):
        # a saved token's user cannot be changed (the token would silently act as someone else)
        return (*self.readonly_fields, "user") if obj is not None else self.readonly_fields

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else ["user", "name", *self.readonly_fields]

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw = obj.set_new_key()
        super().save_model(request, obj, form, change)
        messages.warning(request, format_html(
            "API token for {}: <code>{}</code> — copy it now, it is not shown again. "
            "Send it as <code>Authorization: Bearer &lt;token&gt;</code>.", obj.user, raw))

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        count = 0
        for token in queryset.filter(revoked_at=None):
            token.revoke()
            count += 1
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
