"""The web login (and the admin's): Django's, refusing a username locked by too many failures
(`crm_core.login_limits`) with a readable message and 429."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView

from crm_core import login_limits


class LockoutMixin:
    """Ask whether the username is locked before checking the password."""

    locked = False

    def clean(self):
        seconds = login_limits.login_locked_for(self.data.get("username", ""))
        if seconds is not None:
            self.locked = True
            raise forms.ValidationError(login_limits.locked_message(seconds), code="locked")
        return super().clean()


class LimitedAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class LimitedAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    pass


class LimitedLoginView(LoginView):
    authentication_form = LimitedAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked:
            response.status_code = 429
        return response
