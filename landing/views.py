"""Public pages: landing pages with their forms, and the subscription center."""

from __future__ import annotations

import logging

from csp.decorators import csp_replace
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseRedirect
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.views import View
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from crm_core import consent
from crm_core.models import ConsentSource
from crm_core.net import client_address
from crm_core.tokens import (
    PURPOSE_CONSENT_CONFIRM,
    PURPOSE_PREFERENCES,
    PURPOSE_PREFILL,
    ContactTokenError,
    contact_token_read,
)

from . import abuse, selectors, services, spool
from .forms import HONEYPOT_FIELD, IDENTITY_FIELD, TOKEN_FIELD, LandingForm, form_data, payload_from_post
from .models import LandingPage, SubmissionStatus

PREFILL_PARAM = "ct"
logger = logging.getLogger(__name__)


def _message(request, *, title: str, message: str, status: int, headers: dict | None = None):
    response = render(request, "landing/message.html", {"title": title, "message": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _identity_token(request, page: LandingPage) -> str:
    """The signed link's token when valid, for the form to carry (landing.services.processing reads it)."""
    token = request.GET.get(PREFILL_PARAM) or request.POST.get(IDENTITY_FIELD) or ""
    if not token:
        return ""
    try:
        contact_token_read(token=token, purpose=PURPOSE_PREFILL)
    except (ContactTokenError, DatabaseError):
        return ""
    return token


def _page_response(request, page: LandingPage, form: LandingForm, *, status: int = 200, notice: str = ""):
    response = render(
        request,
        "landing/page.html",
        {
            "page": page,
            "content": mark_safe(services.content_sanitize(page.content)),  # noqa: S308 (sanitised by nh3)
            "form": form,
            "token": abuse.form_token_make(page=page),
            "token_field": TOKEN_FIELD,
            "identity_field": IDENTITY_FIELD,
            "identity_token": _identity_token(request, page),
            "honeypot_field": HONEYPOT_FIELD,
            "notice": notice,
        },
        status=status,
    )
    # A page may carry a person's data (prefill, errors): never let a shared cache keep it.
    response["Cache-Control"] = "private, no-store"
    return response


def _prefill_initial(request, page: LandingPage) -> dict:
    """Values of the recognised contact, only with a valid signed link and the contact's allow_prefill."""
    token = request.GET.get(PREFILL_PARAM)
    if not token:
        return {}
    try:
        contact = contact_token_read(token=token, purpose=PURPOSE_PREFILL)
    except ContactTokenError:
        return {}
    if not contact.allow_prefill:
        return {}
    return {f.name: getattr(contact, f.contact_field) for f in page.fields.all() if f.contact_field}


def _retyped_form(page: LandingPage, post) -> LandingForm:
    """The form again with what the person typed, for them to send once more (nothing is lost)."""
    names = LandingForm(page=page).fields
    return LandingForm(page=page, initial={name: post.get(name) for name in names if name in post})


def _keep_in_spool(request, slug: str, page: LandingPage | None, post, *, token_checked: bool):
    """The database refused the post after its retries: keep it on disk (landing.spool); only when
    that fails too does the visitor get the form back, with their answers, to send again."""
    record = {
        "slug": slug,
        "payload": payload_from_post(post),
        "token": None if token_checked else post.get(TOKEN_FIELD),
        "received_at": timezone.now().isoformat(),
        "ip_address": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
        "spam": bool(post.get(HONEYPOT_FIELD)),
    }
    try:
        spool.spool_put(record)
    except spool.NotKept:
        logger.exception("a form post on %s could not be kept", slug)
        notice = "We could not save your submission just now. Please send the form again in a minute."
        if page is None:
            return _message(request, title="Please try again", message=notice, status=503,
                            headers={"Retry-After": "60"})  # fmt: skip
        response = _page_response(request, page, _retyped_form(page, post), status=503, notice=notice)
        response["Retry-After"] = "60"
        return response
    if page is None:
        return _message(request, title="Thank you", message="We received your details.", status=202)
    return render(request, "landing/thank_you.html", {"page": page}, status=202)


@method_decorator(csrf_exempt, name="dispatch")  # the signed form token protects these forms (embeddable)
class LandingPageView(View):
    def get(self, request, slug: str):
        page = selectors.landing_page_for_visitor(slug=slug, user=request.user)
        return _page_response(request, page, LandingForm(page=page, initial=_prefill_initial(request, page)))

    def post(self, request, slug: str):
        try:
            page = spool.with_database_retry(lambda: selectors.landing_page_live(slug=slug))
        except DatabaseError:
            page = None  # the database is away: the post is still kept (spooled by slug)
        limit = settings.LANDING_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        too_large = _message(
            request,
            title="Submission too large",
            message=f"A submission may be at most {limit:,} bytes.",
            status=413,
        )
        if declared > limit:
            return too_large
        try:
            if len(request.body) > limit:
                return too_large
            post = request.POST
        except RequestDataTooBig:
            return too_large
        except (MultiPartParserError, SuspiciousOperation) as exc:
            return _message(
                request, title="Bad submission", message=f"The form data is malformed: {exc}", status=400
            )

        retry_after = abuse.rate_limit_retry_after(ip=client_address(request))
        if retry_after is not None:
            form = _retyped_form(page, post)
            notice = (
                "Too many submissions from your network. "
                f"Please send the form again in {retry_after} seconds."
            )
            response = _page_response(request, page, form, status=429, notice=notice)
            response["Retry-After"] = str(retry_after)
            return response

        if page is None:
            return _keep_in_spool(request, slug, None, post, token_checked=False)
        if not abuse.form_token_valid(page=page, token=post.get(TOKEN_FIELD)):
            form = _retyped_form(page, post)
            notice = (
                "This form was open for too long or did not come from this site. "
                "Please check it and send it again."
            )
            return _page_response(request, page, form, status=403, notice=notice)

        try:
            submission = spool.with_database_retry(
                lambda: services.submission_store(
                    page=page,
                    payload=payload_from_post(post),
                    ip_address=client_address(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    spam=bool(post.get(HONEYPOT_FIELD)),
                )
            )
        except DatabaseError:
            return _keep_in_spool(request, slug, page, post, token_checked=True)
        # A filled honeypot is kept for review but answered like any success: bots learn nothing.
        try:
            submission = services.submission_receive(submission=submission)
            services.spool_drain(limit=20)  # the database answers again: store what the spool kept
        except DatabaseError:  # stored; the sweep processes it when the database is back
            logger.warning("submission %s stored but not processed yet", submission.pk, exc_info=True)
            return render(request, "landing/thank_you.html", {"page": page})
        if submission.status == SubmissionStatus.INVALID:
            form = LandingForm(form_data(submission.payload), page=page)
            form.is_valid()
            return _page_response(request, page, form, status=400, notice="Please correct the fields below.")
        if page.redirect_url:
            return HttpResponseRedirect(page.redirect_url, status=303)
        return render(request, "landing/thank_you.html", {"page": page})


_landing_page = LandingPageView.as_view()


@csrf_exempt  # as the page itself: the signed form token protects the form
@xframe_options_exempt
def landing_page_embed(request, slug: str):
    """The embeddable variant of a page (the editor's snippet frames it on other sites): the same view
    and form, posting back to itself, framable by the sites in LANDING_EMBED_FRAME_ANCESTORS (read
    on each request). Every other page refuses framing (X-Frame-Options DENY, frame-ancestors 'none')."""
    framing = {"frame-ancestors": settings.LANDING_EMBED_FRAME_ANCESTORS}
    return csp_replace(framing)(_landing_page)(request, slug=slug)


class PreferencesView(View):
    """The subscription center: bulk-email consent and subscription lists, for the contact in the link."""

    def _contact(self, request, token: str):
        try:
            return contact_token_read(token=token, purpose=PURPOSE_PREFERENCES), None
        except ContactTokenError as exc:
            status = 410 if exc.expired else 400
            return None, _message(
                request,
                title="Link expired" if exc.expired else "Link not valid",
                message=f"{str(exc).capitalize()}. Please use the link in a recent email from us.",
                status=status,
            )

    def _render(self, request, contact, *, saved: bool = False):
        response = render(
            request,
            "landing/preferences.html",
            {
                "contact": contact,
                "lists": selectors.subscription_lists_for_contact(contact=contact),
                "saved": saved,
            },
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def get(self, request, token: str):
        contact, error = self._contact(request, token)
        return error or self._render(request, contact)

    def post(self, request, token: str):
        contact, error = self._contact(request, token)
        if error:
            return error
        services.subscription_preferences_save(
            contact=contact,
            bulk_email=request.POST.get("bulk_email") == "on",
            subscribed_list_ids={
                int(key[5:]) for key in request.POST if key.startswith("list_") and key[5:].isdigit()
            },
            source=ConsentSource.SUBSCRIPTION_CENTER,
            ip_address=client_address(request),
        )
        return self._render(request, contact, saved=True)


class ConsentConfirmView(View):
    """The double opt-in link: GET only asks (mail scanners follow links), the button's POST confirms."""

    def _contact(self, request, token: str):
        try:
            return contact_token_read(token=token, purpose=PURPOSE_CONSENT_CONFIRM), None
        except ContactTokenError as exc:
            return None, _message(
                request,
                title="Link expired" if exc.expired else "Link not valid",
                message=f"{str(exc).capitalize()}. Please send the form again to get a new link.",
                status=410 if exc.expired else 400,
            )

    def _render(self, request, contact, *, confirmed: bool):
        response = render(
            request, "landing/consent_confirm.html", {"contact": contact, "confirmed": confirmed}
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def get(self, request, token: str):
        contact, error = self._contact(request, token)
        return error or self._render(request, contact, confirmed=False)

    def post(self, request, token: str):
        contact, error = self._contact(request, token)
        if error:
            return error
        consent.consent_increase_confirm(contact=contact, ip_address=client_address(request))
        return self._render(request, contact, confirmed=True)


@method_decorator(
    csrf_exempt, name="dispatch"
)  # the mailbox provider posts it; the signed token is the proof
class OneClickUnsubscribeView(View):
    """RFC 8058 one-click unsubscribe (List-Unsubscribe-Post): a POST stops bulk email at once.

    A GET (a person or a scanner following the link) only shows the subscription center.
    """

    def get(self, request, token: str):
        return HttpResponseRedirect(reverse("landing:preferences", args=[token]))

    def post(self, request, token: str):
        try:
            contact = contact_token_read(token=token, purpose=PURPOSE_PREFERENCES)
        except ContactTokenError as exc:
            return HttpResponse(str(exc), status=410 if exc.expired else 400, content_type="text/plain")
        consent.contact_preferences_update(
            contact=contact,
            changes={"do_not_bulk_email": True},
            source=ConsentSource.UNSUBSCRIBE_LINK,
            ip_address=client_address(request),
        )
        return HttpResponse("You are unsubscribed.", content_type="text/plain")
