"""Web pages of email templates: the list, the visual editor (GrapesJS with its MJML plugin, saving
through `/api/email-templates/`), the preview document shown in the editor's frame, and the contact
search of the preview."""

from __future__ import annotations

from csp.decorators import csp_replace, csp_update
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from crm_core import selectors as crm_selectors

from . import services
from .email_compile import merge_field_choices
from .models import EmailKind, EmailTemplate

STARTER_MJML = """<mjml>
  <mj-body background-color="#f4f4f4">
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text font-size="22px" color="#1f2d3d">Hello {{ contact.first_name|default:"there" }},</mj-text>
        <mj-text font-size="15px" color="#333333">Write your message here.</mj-text>
        <mj-button href="https://example.com/" background-color="#1d5fbf">Read more</mj-button>
      </mj-column>
    </mj-section>
    <mj-section>
      <mj-column>
        <mj-text font-size="12px" color="#555555" align="center">You get this email because you asked
          to hear from us. <a href="{{ unsubscribe_url }}">Unsubscribe or change your preferences</a>
        </mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>"""

# The editor's canvas and the preview frame draw the email with its own inline styles and images.
EDITOR_CSP = {"style-src": ["'unsafe-inline'"], "img-src": ["https:", "http:", "blob:"]}
# The preview document (sandboxed, no script): the email's own styles, fonts and images only.
PREVIEW_CSP = {
    "default-src": ["'self'"],
    "style-src": ["'unsafe-inline'", "https:"],
    "font-src": ["https:", "data:"],
    "img-src": ["'self'", "data:", "https:", "http:"],
    "script-src": ["'none'"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'none'"],
}


def _require(request, action: str) -> None:
    if not request.user.has_perm(f"journeys.{action}_emailtemplate"):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def email_list_page(request):
    _require(request, "view")
    errors = None
    if request.method == "POST":
        _require(request, "add")
        kind = request.POST.get("kind", EmailKind.MARKETING)
        name = request.POST.get("name", "").strip()[:200]
        try:
            template = services.email_template_create(
                actor=request.user, name=name, kind=kind, subject=name or "", mjml=STARTER_MJML
            )
        except ValidationError as error:
            errors = error.message_dict
        else:
            return redirect("journeys:email-editor", pk=template.pk)
    templates = EmailTemplate.objects.only("id", "name", "kind", "subject", "updated_at")[:500]
    context = {"templates": templates, "kinds": EmailKind.choices, "errors": errors}
    return render(request, "journeys/email_list.html", context, status=400 if errors else 200)


@login_required
@require_GET
@csp_update(EDITOR_CSP)
def email_editor_page(request, pk: int):
    _require(request, "view")
    template = get_object_or_404(EmailTemplate, pk=pk)
    context = {
        "template": template,
        "kinds": EmailKind.choices,
        "merge_fields": merge_field_choices(),
        "can_edit": request.user.has_perm("journeys.change_emailtemplate"),
        "editor_data": template.editor_data or {},
        "mjml_source": template.mjml,
    }
    return render(request, "journeys/email_editor.html", context)


@login_required
@require_GET
@xframe_options_sameorigin
@csp_replace(PREVIEW_CSP)
def email_preview_document(request, pk: int):
    """The saved email as a contact would get it (no tracking), as a document for the preview frame."""
    _require(request, "view")
    template = get_object_or_404(EmailTemplate, pk=pk)
    contact = None
    contact_id = request.GET.get("contact", "")
    if contact_id:
        if not contact_id.isdigit():
            return HttpResponse("contact: a contact id is required", status=400, content_type="text/plain")
        visible = crm_selectors.contact_list(viewer=request.user).select_related("parent_account")
        contact = get_object_or_404(visible, pk=int(contact_id))
    preview = services.email_template_preview(email_template=template, contact=contact)
    return HttpResponse(preview["html"], content_type="text/html; charset=utf-8")


@login_required
@require_GET
def email_contact_search(request):
    """Up to 10 contacts whose name or email contains `q`, for the preview's contact picker."""
    _require(request, "view")
    query = request.GET.get("q", "").strip()[:100]
    if len(query) < 2:
        return JsonResponse({"results": []})
    view = crm_selectors.contact_default_view(viewer=request.user)
    contacts = crm_selectors.contact_list_filtered(viewer=request.user, view=view, search=query)
    rows = contacts.order_by("last_name", "first_name", "id").values(
        "id", "first_name", "last_name", "email"
    )[:10]
    return JsonResponse(
        {
            "results": [
                {
                    "id": row["id"],
                    "label": f"{row['first_name']} {row['last_name']}".strip()
                    + f" <{row['email'] or 'no email'}>",
                }
                for row in rows
            ]
        }
    )
