"""Reads of the landing app."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from crm_core.models import Contact, ListMembership, SubscriptionList, SubscriptionStatus

from .models import LandingPage, PageStatus, SubmissionStatus

FAILED = Q(submissions__status=SubmissionStatus.FAILED)


def landing_pages_with_failures(queryset: QuerySet[LandingPage] | None = None) -> QuerySet[LandingPage]:
    """Pages with `failed_submissions`: how many of their submissions failed for good (marketers fix
    the page and re-queue them)."""
    queryset = LandingPage.objects.all() if queryset is None else queryset
    return queryset.annotate(failed_submissions=Count("submissions", filter=FAILED))


def failed_submission_count(page: LandingPage) -> int:
    return page.submissions.filter(status=SubmissionStatus.FAILED).count()


def landing_page_for_visitor(*, slug: str, user) -> LandingPage:
    """A live page for everyone; a draft only for signed-in users who may view landing pages (preview)."""
    page = LandingPage.objects.filter(slug=slug).prefetch_related("fields").first()
    if page is None:
        raise Http404("No such page.")
    if page.status != PageStatus.LIVE and not (
        user.is_authenticated and user.has_perm("landing.view_landingpage")
    ):
        raise Http404("No such page.")
    return page


def landing_page_live(*, slug: str) -> LandingPage:
    page = LandingPage.objects.filter(slug=slug, status=PageStatus.LIVE).prefetch_related("fields").first()
    if page is None:
        raise Http404("No such page.")
    return page


def subscription_lists_for_contact(*, contact: Contact) -> QuerySet[SubscriptionList]:
    """Public lists plus any list the contact is on, each with `subscribed` for this contact."""
    memberships = ListMembership.objects.filter(contact=contact, subscription_list=OuterRef("pk"))
    return (
        SubscriptionList.objects.filter(Q(is_public=True) | Exists(memberships))
        .annotate(subscribed=Exists(memberships.filter(status=SubscriptionStatus.SUBSCRIBED)))
        .order_by("name")
    )


def landing_page_choice_rows(*, limit: int = 500) -> list[tuple[int, str, str]]:
    """(id, title, slug) of every landing page by title: for other apps' pickers."""
    return list(LandingPage.objects.order_by("title", "id").values_list("pk", "title", "slug")[:limit])


def landing_page_id_by_key(*, pk: int | None = None, slug: str | None = None) -> int | None:
    """The id of the landing page with this id or slug; None if there is none."""
    pages = LandingPage.objects.filter(pk=pk) if pk is not None else LandingPage.objects.filter(slug=slug)
    return pages.values_list("pk", flat=True).first()
