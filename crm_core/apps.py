from django.apps import AppConfig


class CrmCoreConfig(AppConfig):
    name = "crm_core"
    verbose_name = "CRM"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate

        from . import login_limits, lookups
        from .roles import sync_role_permissions

        lookups.register()  # field__any_of=ids (crm_core/lookups.py)
        post_migrate.connect(sync_role_permissions, dispatch_uid="crm_core.sync_role_permissions")
        # Failed logins are counted per username (crm_core.login_limits), whichever way they came.
        user_login_failed.connect(login_limits.on_login_failed, dispatch_uid="crm_core.login_failed")
        user_logged_in.connect(login_limits.on_logged_in, dispatch_uid="crm_core.logged_in")
